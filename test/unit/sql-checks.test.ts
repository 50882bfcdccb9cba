// The offline checkers themselves (test/support/sql-checks.ts): statements SQL Server / Oracle
// accept pass, and each rule catches the statement it is for.
import { describe, expect, it } from "vitest";
import { checkOracle, checkTsql, splitScript } from "../support/sql-checks.js";

const params = (n: number) => Array.from({ length: n }, (_, i) => i);
const list = (n: number, p: (i: number) => string) => Array.from({ length: n }, (_, i) => p(i)).join(", ");

describe("checkTsql", () => {
  it.each([
    ["MERGE … WITH (HOLDLOCK) USING (VALUES …) AS s(a, b)", "MERGE [user_inbox] WITH (HOLDLOCK) AS d USING (VALUES (@p0, @p1), (@p2, @p3)) AS s(user_id, last_seq) ON d.user_id = s.user_id WHEN MATCHED THEN UPDATE SET d.last_seq = s.last_seq WHEN NOT MATCHED THEN INSERT (user_id, last_seq) VALUES (s.user_id, s.last_seq);", 4],
    ["SELECT … WITH (UPDLOCK, ROWLOCK)", "SELECT last_seq FROM [user_inbox] WITH (UPDLOCK, ROWLOCK) WHERE user_id IN (@p0, @p1)", 2],
    ["OFFSET @p ROWS FETCH NEXT @p ROWS ONLY", "SELECT seq, body FROM messages WHERE conv_id = @p0 ORDER BY seq OFFSET @p1 ROWS FETCH NEXT @p2 ROWS ONLY", 3],
    ["UPDATE … SET x = CASE k WHEN … END", "UPDATE conversations SET last_seq = CASE conv_id WHEN @p0 THEN @p1 WHEN @p2 THEN @p3 END WHERE conv_id IN (@p0, @p2)", 4],
    ["CREATE TABLE … nvarchar(max) COLLATE …, named inline default", "CREATE TABLE [messages] ([conv_id] nvarchar(140) COLLATE Latin1_General_100_BIN2 NOT NULL, [body] nvarchar(max) COLLATE Latin1_General_100_BIN2 NOT NULL, [revoked] smallint NOT NULL CONSTRAINT [DF_messages_revoked] DEFAULT 0, CONSTRAINT [PK_messages] PRIMARY KEY ([conv_id]))", 0],
    ["ALTER TABLE … FOREIGN KEY … ON DELETE CASCADE", "ALTER TABLE [inbox] ADD CONSTRAINT [FK_inbox_conv] FOREIGN KEY ([conv_id]) REFERENCES [conversations] ([conv_id]) ON DELETE CASCADE", 0],
    ["CREATE TABLE with a table-level foreign key", "CREATE TABLE a (x int NOT NULL, CONSTRAINT FK_a FOREIGN KEY (x) REFERENCES b (id) ON DELETE CASCADE)", 0],
    ["@0-style placeholders", "SELECT a FROM t WHERE k = @0 AND j = @1", 2],
    ["IF NOT EXISTS … BEGIN … END", "IF NOT EXISTS (SELECT 1 FROM sys.tables WHERE name = N'x') BEGIN CREATE TABLE x (a int); CREATE INDEX i ON x (a); END", 0],
    ["a transaction", "BEGIN TRANSACTION; DELETE TOP (500) FROM inbox WHERE created_at < @p0; COMMIT", 1],
    ["INSERT … SELECT … WHERE NOT EXISTS", "INSERT INTO t (a, b) SELECT @p0, @p1 WHERE NOT EXISTS (SELECT 1 FROM t WITH (UPDLOCK, HOLDLOCK) WHERE a = @p0)", 2],
    ["EXEC with literal arguments", "EXEC sp_rename 't.a', 'b', 'COLUMN'", 0],
    ["2,098 parameters", `INSERT INTO t (a) VALUES ${list(2098, (i) => `(@p${i})`)}`, 2098],
  ])("accepts %s", (_, sql, n) => {
    expect(checkTsql(sql, params(n))).toEqual([]);
  });

  it.each([
    ["LIMIT", "SELECT a FROM t ORDER BY a LIMIT 10", 0, /LIMIT/],
    ["backticks", "SELECT `a` FROM t", 0, /backtick/],
    ["? placeholders", "SELECT a FROM t WHERE k = ?", 1, /`\?` placeholder/],
    ["more than 2,098 parameters", `INSERT INTO t (a) VALUES ${list(2099, (i) => `(@p${i})`)}`, 2099, /2,100/],
    ["a placeholder without a value", "SELECT a FROM t WHERE k = @p3", 1, /#3 have no value/],
    ["unused parameters", "SELECT a FROM t WHERE k = @p0", 2, /only 1 placeholders used/],
    ["mixed placeholder styles", "SELECT a FROM t WHERE k = @p0 AND j = @1", 2, /mixes/],
    ["row-value IN", "SELECT a FROM t WHERE (a, b) IN ((@p0, @p1))", 2, /row-value/],
    ["ON DUPLICATE KEY UPDATE", "INSERT INTO t (a) VALUES (@p0) ON DUPLICATE KEY UPDATE a = a", 1, /ON DUPLICATE KEY/],
    ["INSERT IGNORE (which the grammar accepts)", "INSERT IGNORE INTO t (a) VALUES (@p0)", 1, /INSERT IGNORE/],
    ["|| (which the grammar accepts)", "SELECT a || b FROM t", 0, /\|\|/],
    ["IFNULL (which the grammar accepts)", "SELECT IFNULL(a, 0) FROM t", 0, /IFNULL/],
    ["MySQL types", "CREATE TABLE t (a mediumtext)", 0, /MEDIUMTEXT/],
    ["FOR UPDATE", "SELECT a FROM t WHERE k = @p0 FOR UPDATE", 1, /FOR UPDATE/],
    ["an unknown table hint", "SELECT a FROM t WITH (UPDLOK) WHERE k = @p0", 1, /UPDLOK/],
    ["OFFSET without ORDER BY", "SELECT a FROM t OFFSET @p0 ROWS FETCH NEXT @p1 ROWS ONLY", 2, /ORDER BY/],
    ["a malformed FETCH", "SELECT a FROM t ORDER BY a OFFSET 0 ROWS FETCH 10 ROWS", 0, /FETCH NEXT/],
    ["a MERGE without its semicolon", "MERGE t AS d USING (VALUES (@p0)) AS s(a) ON d.a = s.a WHEN NOT MATCHED THEN INSERT (a) VALUES (s.a)", 1, /semicolon/],
    ["a MERGE row wider than its columns", "MERGE t AS d USING (VALUES (@p0, @p1)) AS s(a) ON d.a = s.a WHEN NOT MATCHED THEN INSERT (a) VALUES (s.a);", 2, /2 values for 1 columns/],
    ["a MERGE inserting when matched", "MERGE t AS d USING (VALUES (@p0)) AS s(a) ON d.a = s.a WHEN MATCHED THEN INSERT (a) VALUES (s.a);", 1, /only allowed in WHEN NOT MATCHED/],
    ["a MERGE with a broken UPDATE", "MERGE t AS d USING (VALUES (@p0)) AS s(a) ON d.a = s.a WHEN MATCHED THEN UPDATE SET = s.a;", 1, /UPDATE SET does not parse/],
    ["a foreign key with mismatched columns", "ALTER TABLE a ADD CONSTRAINT f FOREIGN KEY (x, y) REFERENCES b (id)", 0, /2 columns reference 1/],
    ["an unknown ON DELETE action", "CREATE TABLE a (x int, CONSTRAINT f FOREIGN KEY (x) REFERENCES b (id) ON DELETE EXPLODE)", 0, /EXPLODE/],
    ["a statement the grammar reads as a bare assignment", "IF NOT EXISTS (SELECT 1 FROM t) BEGIN SELEC 1; END", 0, /SELEC/],
    ["an unbalanced block", "BEGIN SELECT 1 FROM t;", 0, /BEGIN without END/],
    ["a syntax error", "SELECT a FROM WHERE", 0, /does not parse/],
  ])("refuses %s", (_, sql, n, problem) => {
    const problems = checkTsql(sql, params(n));
    expect(problems.join("\n")).toMatch(problem);
  });
});

describe("checkOracle", () => {
  const notNull = { messages: new Set(["conv_id", "body"]), users: new Set(["user_id", "user_name"]) };

  it.each([
    ["a quoted reserved column", 'SELECT "SIZE" FROM files WHERE file_id = :1', ["f"]],
    ["FROM dual", "SELECT :1 FROM dual", [1]],
    ["OFFSET … ROWS FETCH NEXT … ROWS ONLY", "SELECT seq FROM messages WHERE conv_id = :1 ORDER BY seq OFFSET :2 ROWS FETCH NEXT :3 ROWS ONLY", ["c", 0, 10]],
    ["a PL/SQL block with several statements", "BEGIN INSERT INTO t (a) VALUES (:1); INSERT INTO u (b) VALUES (:2); END;", [1, 2]],
    ["a PL/SQL block naming a bind twice (bound once)", "BEGIN UPDATE t SET a = :x WHERE b = :x; END;", [1]],
    ["INSERT ALL with non-empty strings", "INSERT ALL INTO messages (conv_id, body) VALUES (:1, :2) INTO messages (conv_id, body) VALUES (:3, :4) SELECT 1 FROM dual", ["c", "b", "d", "e"]],
    ["an empty string into a nullable column", "INSERT INTO messages (conv_id, session_id) VALUES (:1, :2)", ["c", ""]],
    ["1,000 IN items", `SELECT a FROM t WHERE b IN (${list(1000, (i) => `:${i + 1}`)})`, params(1000)],
    ["a trigger using :NEW", "CREATE OR REPLACE TRIGGER trg BEFORE INSERT ON t FOR EACH ROW BEGIN :NEW.a := 1; END;", []],
    ["q-quoted literals", "SELECT a FROM t WHERE b = q'[it's]'", []],
    ["CAST … AS NUMBER", "SELECT CAST(a AS NUMBER) AS n FROM t", []],
    ["an IN subquery", "DELETE FROM inbox WHERE conv_id IN (SELECT conv_id FROM conversations WHERE kind = :1)", ["chat"]],
  ])("accepts %s", (_, sql, p) => {
    expect(checkOracle(sql, p, { notNull })).toEqual([]);
  });

  it.each([
    ["LIMIT", "SELECT a FROM t LIMIT 10", [], /LIMIT/],
    ["OFFSET without ROWS", "SELECT a FROM t ORDER BY a OFFSET 5", [], /OFFSET without ROWS/],
    ["backticks", "SELECT `a` FROM t", [], /backtick/],
    ["two statements in one text", "DELETE FROM t WHERE a = :1; DELETE FROM u WHERE a = :2", [1, 2], /more than one statement/],
    ["a trailing semicolon", "SELECT a FROM t WHERE b = :1;", [1], /trailing `;`/],
    ["a PL/SQL block without END;", "BEGIN DELETE FROM t", [], /END;/],
    ["? placeholders", "SELECT a FROM t WHERE b = ?", [1], /`\?` placeholder/],
    ["a '' literal", "UPDATE t SET a = '' WHERE b = :1", [1], /'' literal/],
    ["SELECT without FROM", "SELECT 1", [], /FROM dual/],
    ["a nested SELECT without FROM", "INSERT INTO t (a) SELECT :1 FROM dual WHERE NOT EXISTS (SELECT 1)", [1], /FROM dual/],
    ["a reserved identifier unquoted", "SELECT size FROM files WHERE file_id = :1", ["f"], /size: an Oracle reserved word/],
    ["a reserved identifier unquoted in DDL", "CREATE TABLE online_devices (resource VARCHAR2(128 CHAR))", [], /resource/],
    ["a reserved word as an alias", "SELECT a AS level FROM t", [], /alias level/],
    ["more than 1,000 IN items", `SELECT a FROM t WHERE b IN (${list(1001, (i) => `:${i + 1}`)})`, params(1001), /ORA-01795/],
    ["more than 65,535 binds", `INSERT ALL ${list(13108, (i) => `INTO t (a, b, c, d, e) VALUES (:${5 * i + 1}, :${5 * i + 2}, :${5 * i + 3}, :${5 * i + 4}, :${5 * i + 5})`).replace(/, INTO/g, " INTO")} SELECT 1 FROM dual`, params(65540), /65535/],
    ["binds that do not match the values", "SELECT a FROM t WHERE b = :1 AND c = :2", [1], /1 values bound by position to 2 placeholders/],
    ["'' into a NOT NULL column (INSERT)", "INSERT INTO messages (conv_id, body) VALUES (:1, :2)", ["c", ""], /NOT NULL messages.body/],
    ["'' into a NOT NULL column (INSERT ALL)", "INSERT ALL INTO messages (conv_id, body) VALUES (:1, :2) INTO messages (conv_id, body) VALUES (:3, :4) SELECT 1 FROM dual", ["c", "b", "d", ""], /NOT NULL messages.body/],
    ["'' into a NOT NULL column (MERGE … USING (SELECT :1 c1 … FROM dual))", 'MERGE INTO users u USING (SELECT :1 c1, :2 c2 FROM dual) s ON (u.user_id = s.c1) WHEN MATCHED THEN UPDATE SET u.user_name = s.c2 WHEN NOT MATCHED THEN INSERT (user_id, user_name) VALUES (s.c1, s.c2)', ["a", ""], /NOT NULL users.user_name/],
    ["'' into a NOT NULL column (UPDATE)", "UPDATE users SET user_name = :1 WHERE user_id = :2", ["", "u"], /NOT NULL users.user_name/],
    ["MySQL types in DDL", "CREATE TABLE t (a bigint NOT NULL)", [], /BIGINT/],
    ["IF NOT EXISTS", "CREATE TABLE IF NOT EXISTS t (a NUMBER(19))", [], /IF \[NOT\] EXISTS/],
    ["VARCHAR2 beyond 4000", "CREATE TABLE t (a VARCHAR2(5000))", [], /VARCHAR2\(5000\)/],
    ["a problem inside EXECUTE IMMEDIATE", "BEGIN EXECUTE IMMEDIATE 'CREATE TABLE files (size NUMBER(19))'; END;", [], /in EXECUTE IMMEDIATE: size/],
  ])("refuses %s", (_, sql, p, problem) => {
    expect(checkOracle(sql, p, { notNull }).join("\n")).toMatch(problem);
  });

  it("takes the schema's identifiers as an option", () => {
    expect(checkOracle("SELECT level FROM t", [], { identifiers: ["level"] }).join("\n")).toMatch(/LEVEL|level: an Oracle reserved word/);
    expect(checkOracle("SELECT size FROM t", [], { identifiers: [] })).toEqual([]);
  });
});

describe("splitScript", () => {
  it("splits as the command-line tools do", () => {
    expect(splitScript("-- c\nCREATE TABLE a (x int);\nINSERT INTO a VALUES (';');\n", "semicolon")).toEqual(["CREATE TABLE a (x int)", "INSERT INTO a VALUES (';')"]);
    expect(splitScript("CREATE TRIGGER t AFTER INSERT ON a BEGIN\n  DELETE FROM b;\nEND;\nSELECT 1;\n", "semicolon")).toEqual(["CREATE TRIGGER t AFTER INSERT ON a BEGIN\n  DELETE FROM b;\nEND", "SELECT 1"]);
    expect(splitScript("WHENEVER SQLERROR EXIT FAILURE\nSET DEFINE OFF\nCREATE TABLE a (x NUMBER);\nBEGIN\n  NULL;\nEND;\n/\nCOMMIT;\n", "sqlplus")).toEqual(["CREATE TABLE a (x NUMBER)", "BEGIN\n  NULL;\nEND;", "COMMIT"]);
    expect(splitScript("SET QUOTED_IDENTIFIER ON;\nGO\n-- m\nCREATE TABLE a (x int);\nGO\n", "sqlcmd")).toEqual(["SET QUOTED_IDENTIFIER ON", "CREATE TABLE a (x int)"]);
  });
});
