// Offline checks of SQL Server and Oracle statements, for the databases that cannot run here
// (docs/databases.md says what was verified live and what only by these checks).
//
// checkTsql: node-sql-parser's `transactsql` grammar (5.4.0) parses each statement, plus rules for
// what that grammar accepts but SQL Server refuses (it is lenient: LIMIT, backticks, `||`,
// INSERT IGNORE, row-value IN… all parse). Where the grammar cannot parse a construct SQL Server
// accepts, the construct is checked by a narrower structural rule and then removed from (or
// rewritten in) the text the parser sees, never skipped silently. Found by trying, on 5.4.0:
//
//   construct SQL Server accepts                          | narrower rule used instead
//   ------------------------------------------------------|----------------------------------------
//   MERGE (any form, with or without WITH (HOLDLOCK),     | checkMerge: MERGE [INTO] target [WITH (hints)]
//     USING (VALUES …) AS s(a, b))                        |   [AS] alias USING source ON cond WHEN … ;
//                                                         |   shape; the source, the ON condition, every
//                                                         |   UPDATE SET and INSERT … VALUES are parsed
//                                                         |   on their own; row widths = column lists;
//                                                         |   the terminating `;` MERGE requires
//   column-level named constraints:                       | `CONSTRAINT <identifier>` is checked, then
//     `CONSTRAINT [DF_x] DEFAULT 0`,                      |   dropped before parsing (the DEFAULT /
//     `CONSTRAINT [PK_x] PRIMARY KEY`                     |   PRIMARY KEY that follows is parsed)
//   REFERENCES in CREATE TABLE, in any form (column-level | referencesClause: REFERENCES t [(cols)]
//     `REFERENCES t (c)`, table-level `CONSTRAINT n        |   [ON DELETE|UPDATE CASCADE|NO ACTION|
//     FOREIGN KEY (c) REFERENCES t (c) ON DELETE CASCADE`) |   SET NULL|SET DEFAULT] [NOT FOR
//                                                         |   REPLICATION], FOREIGN KEY (cols) before
//                                                         |   it, equal column counts; then removed
//   ALTER TABLE … ADD [CONSTRAINT n] FOREIGN KEY (…)      | checkForeignKey: the whole statement's
//     REFERENCES t (…) (with or without ON DELETE)        |   shape, equal column counts
//   BEGIN … END blocks (also BEGIN TRY/CATCH), so also     | flattenBlocks: BEGIN/END balance (CASE …
//     `IF NOT EXISTS (…) BEGIN CREATE …; END`             |   END aside); each statement inside is
//                                                         |   parsed alone, `IF cond BEGIN s1; …`
//                                                         |   as `IF cond s1`
//   BEGIN TRAN[SACTION], COMMIT, ROLLBACK (without         | the statement's exact shape (a regular
//     TRANSACTION)                                        |   expression over the whole statement)
//   `OFFSET @p0 ROWS FETCH NEXT @p1 ROWS ONLY` (parameters | the clause's shape, an ORDER BY before it
//     instead of literals; also OFFSET … ROWS alone)      |   at the same level; then removed
//   `INSERT INTO t WITH (TABLOCK) (…)` (table hints on    | hint names checked (as for every WITH
//     INSERT)                                             |   (…) table hint); then removed
//   `EXEC proc 'a', 1`                                    | checkExec: name and literal/parameter args
//
// Also refused by the grammar although SQL Server accepts them, and NOT worked around (a statement
// using them is reported, loudly): COUNT_BIG(…), UPDATE … OUTPUT …, SET @variable = …; extend the
// table above if an adapter needs them. The grammar is also too lenient in one way that matters:
// it reads any `word expression` (`SELEC 1`, `FOO BAR`) as a procedural assignment, so a parsed
// statement whose tree holds such a bare assignment is reported. Checked and accepted by the grammar as SQL Server does: SELECT … FROM t WITH
// (UPDLOCK, ROWLOCK), UPDATE … SET x = CASE k WHEN … END, nvarchar(max) … COLLATE
// Latin1_General_100_BIN2, IDENTITY(1,1), TOP (@p0), DELETE TOP (n), multi-row VALUES.
//
// checkOracle: Oracle has no usable offline parser, so only rules, each for something Oracle
// refuses (or silently reads differently, as '' read as NULL). Reserved words: Oracle Database SQL
// Language Reference, "Oracle SQL Reserved Words".
import { createRequire } from "node:module";
import { MIGRATIONS_TABLE, entitySchemas } from "../../src/store/sql/datasource.js";

type ParserModule = typeof import("node-sql-parser/build/transactsql.js");
const { Parser } = createRequire(import.meta.url)("node-sql-parser/build/transactsql.js") as ParserModule;
const parser = new Parser();

/**
 * SQL Server refuses a request with more than 2,100 parameters ("Maximum capacity specifications
 * for SQL Server"); a parameterised statement is sent as sp_executesql, whose own @stmt and
 * @params take two of them, so a statement may bind at most 2,098.
 */
export const TSQL_MAX_PARAMS = 2098;
/** Oracle: at most 65,535 bind variables in one statement. */
export const ORACLE_MAX_BINDS = 65535;
/** ORA-01795: maximum number of expressions in a list is 1000. */
export const ORACLE_MAX_IN_LIST = 1000;

// ---------------------------------------------------------------------------------------------
// Lexer (both dialects)

export type TokKind = "word" | "qident" | "string" | "number" | "param" | "op" | "punct" | "backtick";
export interface Tok {
  kind: TokKind;
  text: string;
  /** Upper-cased text for words; the unquoted name for quoted identifiers. */
  value: string;
  start: number;
  end: number;
  /** Parenthesis depth the token is at (an opening paren is at the outer depth). */
  depth: number;
}

function lex(sql: string, dialect: "tsql" | "oracle", problems: string[]): Tok[] {
  const toks: Tok[] = [];
  let depth = 0;
  let i = 0;
  const push = (kind: TokKind, start: number, end: number, value?: string) => {
    const text = sql.slice(start, end);
    if (text === ")") depth = Math.max(0, depth - 1);
    toks.push({ kind, text, value: value ?? (kind === "word" ? text.toUpperCase() : text), start, end, depth });
    if (text === "(") depth++;
  };
  const quoted = (start: number, open: number, close: string, kind: TokKind) => {
    // `open` is the index of the first character after the opening quote.
    let j = open;
    for (;;) {
      const k = sql.indexOf(close, j);
      if (k < 0) {
        problems.push(`unterminated ${kind === "string" ? "string literal" : "quoted identifier"} at offset ${start}`);
        push(kind, start, sql.length, sql.slice(open));
        return sql.length;
      }
      if (sql[k + 1] === close) {
        j = k + 2; // doubled quote: an escaped quote character
        continue;
      }
      const raw = sql.slice(open, k);
      push(kind, start, k + close.length, kind === "string" ? raw.replace(close === "'" ? /''/g : /(?!)/g, "'") : raw.replace(/""|\]\]/g, (m) => m[0]!));
      return k + close.length;
    }
  };
  while (i < sql.length) {
    const c = sql[i]!;
    const rest = sql.slice(i, i + 3);
    if (/\s/.test(c)) {
      i++;
    } else if (rest.startsWith("--")) {
      const k = sql.indexOf("\n", i);
      i = k < 0 ? sql.length : k + 1;
    } else if (rest.startsWith("/*")) {
      const k = sql.indexOf("*/", i + 2);
      if (k < 0) problems.push(`unterminated comment at offset ${i}`);
      i = k < 0 ? sql.length : k + 2;
    } else if (c === "'") {
      i = quoted(i, i + 1, "'", "string");
    } else if ((c === "N" || c === "n") && sql[i + 1] === "'") {
      i = quoted(i, i + 2, "'", "string");
    } else if (dialect === "oracle" && /^[nN]?[qQ]'/.test(rest)) {
      // Oracle alternative quoting: q'[...]', q'{...}', q'<...>', q'(...)', q'X...X'.
      const at = sql.indexOf("'", i) + 1;
      const delim = sql[at] ?? "";
      const close = ({ "[": "]", "{": "}", "<": ">", "(": ")" } as Record<string, string>)[delim] ?? delim;
      const k = sql.indexOf(`${close}'`, at + 1);
      if (k < 0) {
        problems.push(`unterminated q'…' literal at offset ${i}`);
        push("string", i, sql.length);
        i = sql.length;
      } else {
        push("string", i, k + 2, sql.slice(at + 1, k));
        i = k + 2;
      }
    } else if (c === '"') {
      i = quoted(i, i + 1, '"', "qident");
    } else if (c === "[" && dialect === "tsql") {
      i = quoted(i, i + 1, "]", "qident");
    } else if (c === "`") {
      const k = sql.indexOf("`", i + 1);
      const end = k < 0 ? sql.length : k + 1;
      push("backtick", i, end, sql.slice(i + 1, k < 0 ? sql.length : k));
      i = end;
    } else if (/[0-9]/.test(c) || (c === "." && /[0-9]/.test(sql[i + 1] ?? ""))) {
      const m = /^(?:0x[0-9a-f]*|[0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)/i.exec(sql.slice(i))!;
      push("number", i, i + m[0].length);
      i += m[0].length;
    } else if (dialect === "tsql" && c === "@") {
      const m = /^@@?[A-Za-z0-9_#$]*/.exec(sql.slice(i))!;
      push(m[0].startsWith("@@") ? "word" : "param", i, i + m[0].length);
      i += m[0].length;
    } else if (dialect === "oracle" && c === ":" && /[A-Za-z0-9_"]/.test(sql[i + 1] ?? "")) {
      const m = /^:(?:[0-9]+|[A-Za-z][A-Za-z0-9_$#]*|"[^"]*")/.exec(sql.slice(i));
      const len = m ? m[0].length : 1;
      push("param", i, i + len);
      i += len;
    } else if (c === "?") {
      push("param", i, i + 1);
      i++;
    } else if (c === "$" && /[0-9]/.test(sql[i + 1] ?? "")) {
      const m = /^\$[0-9]+/.exec(sql.slice(i))!;
      push("param", i, i + m[0].length);
      i += m[0].length;
    } else if (/[A-Za-z_\u0080-\uffff]/.test(c) || (dialect === "tsql" && c === "#")) {
      const m = /^[A-Za-z_\u0080-\uffff#][A-Za-z0-9_$#\u0080-\uffff]*/.exec(sql.slice(i))!;
      push("word", i, i + m[0].length);
      i += m[0].length;
    } else if (/^(?:<>|!=|<=|>=|\|\||:=|::|=>)/.test(rest)) {
      push("op", i, i + 2);
      i += 2;
    } else {
      push(/[(),;.]/.test(c) ? "punct" : "op", i, i + 1);
      i++;
    }
  }
  return toks;
}

const isWord = (t: Tok | undefined, ...words: string[]) => t !== undefined && t.kind === "word" && (words.length === 0 || words.includes(t.value));
const isPunct = (t: Tok | undefined, p: string) => t !== undefined && t.kind === "punct" && t.text === p;
const isName = (t: Tok | undefined) => t !== undefined && (t.kind === "word" || t.kind === "qident");

/** Index of the `)` closing the `(` at index `open`. */
function closing(toks: readonly Tok[], open: number): number {
  const d = toks[open]!.depth;
  for (let j = open + 1; j < toks.length; j++) if (isPunct(toks[j], ")") && toks[j]!.depth === d) return j;
  return toks.length - 1;
}

const snippet = (s: string) => {
  const one = s.replace(/\s+/g, " ").trim();
  return one.length > 120 ? `${one.slice(0, 117)}…` : one;
};

// ---------------------------------------------------------------------------------------------
// SQL Server

/** SQL Server table hints ("Table Hints (Transact-SQL)"). INDEX(…), FORCESEEK(…) take arguments. */
const TSQL_TABLE_HINTS = new Set([
  "NOEXPAND", "INDEX", "FORCESEEK", "FORCESCAN", "HOLDLOCK", "NOLOCK", "NOWAIT", "PAGLOCK", "READCOMMITTED",
  "READCOMMITTEDLOCK", "READPAST", "READUNCOMMITTED", "REPEATABLEREAD", "ROWLOCK", "SERIALIZABLE", "SNAPSHOT",
  "SPATIAL_WINDOW_MAX_CELLS", "TABLOCK", "TABLOCKX", "UPDLOCK", "XLOCK", "KEEPIDENTITY", "KEEPDEFAULTS",
  "IGNORE_CONSTRAINTS", "IGNORE_TRIGGERS",
]);

/** Functions of MySQL/SQLite (or of SQL Server 2022 only) that SQL Server 2019 does not have; the parser accepts them. */
const NOT_TSQL_FUNCTIONS = new Map([
  ["IFNULL", "ISNULL or COALESCE"],
  ["LAST_INSERT_ID", "SCOPE_IDENTITY() or OUTPUT"],
  ["GROUP_CONCAT", "STRING_AGG"],
  ["NOW", "SYSUTCDATETIME()"],
  ["SUBSTR", "SUBSTRING"],
  ["LENGTH", "LEN"],
  ["CHAR_LENGTH", "LEN"],
  ["GREATEST", "CASE (GREATEST needs SQL Server 2022)"],
  ["LEAST", "CASE (LEAST needs SQL Server 2022)"],
  ["STRFTIME", "FORMAT or CONVERT"],
]);

/** Types and table options of MySQL/SQLite that SQL Server does not have. */
const NOT_TSQL_WORDS = new Map([
  ["MEDIUMTEXT", "nvarchar(max)"],
  ["LONGTEXT", "nvarchar(max)"],
  ["TINYTEXT", "nvarchar(255)"],
  ["AUTO_INCREMENT", "IDENTITY(1,1)"],
  ["AUTOINCREMENT", "IDENTITY(1,1)"],
  ["UNSIGNED", "a CHECK constraint"],
  ["ENGINE", "nothing (no table engines)"],
  ["CHARSET", "a COLLATE clause"],
]);

/**
 * Problems SQL Server would have with `sql` bound to `params` (empty: none found). Placeholders are
 * `@p0, @p1, …` or `@0, @1, …` (one style per statement), each index < params.length.
 */
export function checkTsql(sql: string, params: readonly unknown[]): string[] {
  const problems: string[] = [];
  const toks = lex(sql, "tsql", problems);

  // Placeholders and the parameter limit.
  const used = new Set<number>();
  const styles = new Set<string>();
  for (const t of toks) {
    if (t.kind !== "param") continue;
    if (t.text === "?") problems.push("`?` placeholder: SQL Server parameters are @p0, @p1, … (or @0, @1, …)");
    else if (t.text.startsWith("$")) problems.push(`\`${t.text}\` placeholder: SQL Server parameters are @p0, @p1, …`);
    else {
      const m = /^@(p?)([0-9]+)$/i.exec(t.text);
      if (m) {
        styles.add(m[1] ? "@p0" : "@0");
        used.add(Number(m[2]));
      }
    }
  }
  if (styles.size > 1) problems.push("mixes @p0-style and @0-style placeholders");
  if (used.size > TSQL_MAX_PARAMS || params.length > TSQL_MAX_PARAMS)
    problems.push(`${Math.max(used.size, params.length)} parameters: SQL Server takes at most 2,100 per request, ${TSQL_MAX_PARAMS} for a statement sent through sp_executesql`);
  const beyond = [...used].filter((n) => n >= params.length).sort((a, b) => a - b);
  if (beyond.length > 0) problems.push(`placeholder(s) ${beyond.slice(0, 5).map((n) => `#${n}`).join(", ")} have no value (${params.length} parameters given)`);
  if (used.size > 0 && used.size < params.length) problems.push(`${params.length} parameters given but only ${used.size} placeholders used`);
  if (used.size === 0 && params.length > 0) problems.push(`${params.length} parameters given but the text has no @p0/@0 placeholder`);

  // What the grammar accepts but SQL Server refuses.
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    const next = toks[i + 1];
    if (t.kind === "backtick") problems.push(`backtick-quoted identifier ${t.text}: SQL Server quotes with [ ] or " "`);
    else if (isWord(t, "LIMIT")) problems.push("LIMIT: SQL Server uses TOP (n) or OFFSET … ROWS FETCH NEXT … ROWS ONLY");
    else if (t.kind === "op" && t.text === "||") problems.push("`||`: SQL Server concatenates with + or CONCAT()");
    else if (isWord(t, "INSERT") && isWord(next, "IGNORE", "OR")) problems.push(`INSERT ${next!.value}: not T-SQL (use MERGE or INSERT … WHERE NOT EXISTS)`);
    else if (isWord(t, "REPLACE") && isWord(next, "INTO")) problems.push("REPLACE INTO: not T-SQL (use MERGE)");
    else if (isWord(t, "ON") && isWord(next, "DUPLICATE") && isWord(toks[i + 2], "KEY")) problems.push("ON DUPLICATE KEY UPDATE: not T-SQL (use MERGE)");
    else if (isWord(t, "ON") && isWord(next, "CONFLICT")) problems.push("ON CONFLICT: not T-SQL (use MERGE)");
    else if (isWord(t, "RETURNING")) problems.push("RETURNING: SQL Server uses OUTPUT");
    else if (isWord(t, "FOR") && isWord(next, "UPDATE", "SHARE")) problems.push(`FOR ${next!.value}: SQL Server locks with table hints WITH (UPDLOCK, ROWLOCK)`);
    else if (isWord(t, "TRUE", "FALSE") && !isPunct(toks[i - 1], ".")) problems.push(`${t.value}: T-SQL has no boolean literals (use 1/0)`);
    else if (t.kind === "word" && NOT_TSQL_FUNCTIONS.has(t.value) && isPunct(next, "(") && !isPunct(toks[i - 1], "."))
      problems.push(`${t.value}(): not a SQL Server 2019 function (${NOT_TSQL_FUNCTIONS.get(t.value)})`);
    else if (t.kind === "word" && NOT_TSQL_WORDS.has(t.value)) problems.push(`${t.value}: not T-SQL (${NOT_TSQL_WORDS.get(t.value)})`);
    else if (isWord(t, "CHARACTER") && isWord(next, "SET")) problems.push("CHARACTER SET: SQL Server columns take a COLLATE clause (nvarchar for Unicode)");
    else if (isPunct(t, "(") && rowValueComparison(toks, i)) problems.push("row-value comparison ((a, b) IN / = …): SQL Server has none (use AND/OR of columns, a join on VALUES, or EXISTS)");
    else if (isWord(t, "WITH") && isPunct(next, "(")) checkTableHints(toks, i + 1, problems);
  }

  if (problems.some((p) => p.startsWith("unterminated"))) return problems;
  problems.push(...parseTsql(sql, toks));
  return problems;
}

/** `(a, b) IN (…)` / `(a, b) = (…)`: a parenthesised list with a top-level comma used as an operand. */
function rowValueComparison(toks: readonly Tok[], open: number): boolean {
  const before = toks[open - 1];
  if (!(before === undefined || isPunct(before, "(") || isPunct(before, ",") || isWord(before, "WHERE", "AND", "OR", "NOT", "ON", "WHEN", "HAVING"))) return false;
  const close = closing(toks, open);
  const hasComma = toks.slice(open + 1, close).some((t) => isPunct(t, ",") && t.depth === toks[open]!.depth + 1);
  if (!hasComma || isWord(toks[open + 1], "SELECT", "VALUES")) return false;
  const after = toks[close + 1];
  return isWord(after, "IN", "NOT") || (after?.kind === "op" && ["=", "<>", "!=", "<", ">", "<=", ">="].includes(after.text));
}

/** `WITH (UPDLOCK, ROWLOCK)`: every bare word in a hint list must be a table hint. */
function checkTableHints(toks: readonly Tok[], open: number, problems: string[]): void {
  const close = closing(toks, open);
  const inner = toks.slice(open + 1, close);
  // Only a flat list of words (index options such as WITH (FILLFACTOR = 80) have `=`).
  if (inner.length === 0 || inner.some((t) => t.kind === "op")) return;
  for (let j = 0; j < inner.length; j++) {
    const t = inner[j]!;
    if (t.depth !== toks[open]!.depth + 1) continue;
    if (t.kind === "word" && !TSQL_TABLE_HINTS.has(t.value) && (j === 0 || isPunct(inner[j - 1], ",")))
      problems.push(`WITH (${t.text}): not a SQL Server table hint`);
  }
}

/** Parses `sql` as T-SQL, with the constructs the grammar lacks checked structurally first. */
function parseTsql(sql: string, toks: readonly Tok[]): string[] {
  // The whole text first (one batch the grammar can take as it is).
  const whole = rewriteForParser(sql, toks);
  if (whole.structural.length === 0 && tryParse(whole.text) === undefined) return whole.problems;
  const out: string[] = [];
  const { statements: parts, problems } = flattenBlocks(toks);
  out.push(...problems);
  for (const { toks: st, terminated } of parts) {
    // The statement's own text (block delimiters left out), offsets relative to it.
    let text = "";
    const rel: Tok[] = [];
    for (const t of st) {
      if (text !== "") text += " ";
      rel.push({ ...t, start: text.length, end: text.length + t.text.length });
      text += t.text;
    }
    if (isWord(rel[0], "MERGE")) {
      out.push(...checkMerge(text, rel, terminated));
    } else if (isWord(rel[0], "ALTER") && rel.some((t) => isWord(t, "FOREIGN", "REFERENCES"))) {
      out.push(...checkForeignKey(text, rel));
    } else if (isWord(rel[0], "EXEC", "EXECUTE")) {
      out.push(...checkExec(text, rel));
    } else if (/^(?:BEGIN (?:TRAN|TRANSACTION|DISTRIBUTED TRANSACTION)|COMMIT|ROLLBACK|SAVE (?:TRAN|TRANSACTION))\b/i.test(text)) {
      if (!/^(?:BEGIN (?:DISTRIBUTED )?TRAN(?:SACTION)?|COMMIT(?: TRAN(?:SACTION)?| WORK)?|ROLLBACK(?: TRAN(?:SACTION)?| WORK)?|SAVE TRAN(?:SACTION)?)(?: [A-Za-z_@#][A-Za-z0-9_@#$]*)?$/i.test(text))
        out.push(`not a transaction statement SQL Server knows: ${snippet(text)}`);
    } else {
      const r = rewriteForParser(text, rel);
      out.push(...r.problems);
      const err = tryParse(r.text);
      if (err !== undefined) out.push(`does not parse as T-SQL (${err}): ${snippet(text)}`);
    }
  }
  return out;
}

/**
 * Statements of a batch, with BEGIN … END (and BEGIN TRY/CATCH … END TRY/CATCH) blocks, which the
 * grammar cannot parse, flattened: the block delimiters must balance (CASE … END aside); a block's
 * BEGIN is dropped, so `IF cond BEGIN s1; s2; END` is checked as `IF cond s1` and `s2`.
 */
function flattenBlocks(toks: readonly Tok[]): { statements: Array<{ toks: Tok[]; terminated: boolean }>; problems: string[] } {
  const problems: string[] = [];
  const out: Array<{ toks: Tok[]; terminated: boolean }> = [];
  const stack: string[] = [];
  let cur: Tok[] = [];
  const end = (terminated: boolean) => {
    if (cur.length > 0) out.push({ toks: cur, terminated });
    cur = [];
  };
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    const next = toks[i + 1];
    if (t.depth === 0 && isWord(t, "CASE")) stack.push("CASE");
    if (t.depth === 0 && isWord(t, "BEGIN") && !isWord(next, "TRAN", "TRANSACTION", "DISTRIBUTED")) {
      const kind = isWord(next, "TRY", "CATCH") ? next!.value : "BLOCK";
      stack.push(kind);
      if (kind !== "BLOCK") i++;
      if (cur.length > 0 && !cur.some((u) => isWord(u, "IF", "WHILE", "ELSE"))) end(false);
      continue;
    }
    if (t.depth === 0 && isWord(t, "END")) {
      const open = stack.pop();
      if (open === "CASE") {
        cur.push(t);
        continue;
      }
      if (open === undefined) problems.push("END without BEGIN");
      else if (open !== "BLOCK" && !isWord(next, open)) problems.push(`BEGIN ${open} closed by END without ${open}`);
      if (open !== undefined && open !== "BLOCK") i++;
      end(false);
      continue;
    }
    if ((isPunct(t, ";") || isWord(t, "GO")) && t.depth === 0) {
      end(isPunct(t, ";"));
      continue;
    }
    cur.push(t);
  }
  end(false);
  const unclosed = stack.filter((k) => k !== "CASE");
  if (unclosed.length > 0) problems.push(`BEGIN without END (${unclosed.length})`);
  return { statements: out, problems };
}

function tryParse(sql: string): string | undefined {
  let ast: unknown;
  try {
    ast = parser.astify(sql, { database: "transactsql" });
  } catch (err) {
    return String((err as Error).message).slice(0, 200);
  }
  // The grammar reads any `word expression` as a procedural assignment (`FOO BAR`, `SELEC 1`
  // parse); T-SQL has no such statement (assignments are SET @x = … / SELECT @x = …).
  const bare = bareAssignment(ast);
  return bare === undefined ? undefined : `\`${bare} …\` is no T-SQL statement (the grammar reads it as a bare assignment)`;
}

function bareAssignment(node: unknown): string | undefined {
  if (Array.isArray(node)) {
    for (const n of node) {
      const found = bareAssignment(n);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (node === null || typeof node !== "object") return undefined;
  const o = node as Record<string, unknown>;
  const left = o.left as Record<string, unknown> | undefined;
  if (o.type === "assign" && left?.type === "var" && o.symbol == null) return String(left.name);
  for (const v of Object.values(o)) {
    const found = bareAssignment(v);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * The text handed to the parser, with the constructs it lacks (inline named constraints, ON DELETE
 * actions, OFFSET/FETCH with parameters, hints on INSERT) checked and removed. `structural` lists
 * statements (MERGE, ALTER TABLE … FOREIGN KEY, EXEC) that need a per-statement rule instead.
 */
function rewriteForParser(sql: string, toks: readonly Tok[]): { text: string; problems: string[]; structural: string[] } {
  const problems: string[] = [];
  const structural: string[] = [];
  const cuts: Array<[number, number]> = [];
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    const prev = toks[i - 1];
    if (isWord(t, "MERGE") && (i === 0 || isPunct(prev, ";"))) structural.push("MERGE");
    if (isWord(t, "EXEC", "EXECUTE") && (i === 0 || isPunct(prev, ";"))) structural.push("EXEC");
    // The grammar accepts some broken BEGIN … texts as a whole (`BEGIN SELECT 1 FROM t;` with no END).
    if (isWord(t, "BEGIN", "COMMIT", "ROLLBACK") && t.depth === 0) structural.push(t.value);
    if (isWord(t, "FOREIGN", "REFERENCES") && toks.slice(0, i).some((u) => isWord(u, "ALTER"))) structural.push("FOREIGN KEY");
    // Column-level named constraint: `<type> … CONSTRAINT <name> DEFAULT|PRIMARY|UNIQUE`.
    if (isWord(t, "CONSTRAINT") && !isPunct(prev, ",") && !isPunct(prev, "(") && !isWord(prev, "ADD")) {
      const name = toks[i + 1];
      const what = toks[i + 2];
      if (!isName(name)) problems.push(`CONSTRAINT without a name: ${snippet(sql.slice(t.start, t.start + 60))}`);
      else if (isWord(what, "DEFAULT", "PRIMARY", "UNIQUE")) cuts.push([t.start, name!.end]);
    }
    // [CONSTRAINT n] [FOREIGN KEY (cols)] REFERENCES t [(cols)] [ON DELETE|UPDATE a] [NOT FOR REPLICATION]
    if (isWord(t, "REFERENCES")) {
      const r = referencesClause(toks, i);
      if (typeof r === "string") problems.push(`${r}: ${snippet(sql)}`);
      else cuts.push([toks[r.from]!.start, toks[r.to]!.end]);
    }
    // ORDER BY … OFFSET <n|@p> ROW[S] [FETCH NEXT|FIRST <n|@p> ROW[S] ONLY]
    if (isWord(t, "OFFSET")) {
      const shape = offsetFetch(toks, i);
      if (typeof shape === "string") problems.push(shape);
      else {
        const orderBy = toks.slice(0, i).some((u) => isWord(u, "ORDER") && u.depth === t.depth);
        if (!orderBy) problems.push("OFFSET … ROWS without ORDER BY: SQL Server requires ORDER BY before OFFSET");
        cuts.push([t.start, toks[shape]!.end]);
      }
    }
    // INSERT [INTO] t WITH (hints) (cols): the hints were checked with every WITH (…).
    if (isWord(t, "WITH") && isPunct(toks[i + 1], "(") && toks.slice(Math.max(0, i - 4), i).some((u) => isWord(u, "INSERT"))) {
      cuts.push([t.start, toks[closing(toks, i + 1)]!.end]);
    }
  }
  let text = sql;
  for (const [a, b] of cuts.sort((x, y) => y[0] - x[0])) text = `${text.slice(0, a)}${" ".repeat(b - a)}${text.slice(b)}`;
  return { text, problems, structural };
}

/**
 * A REFERENCES clause in CREATE TABLE, which the grammar cannot parse in any form: its extent
 * (from the comma before a table-level FOREIGN KEY constraint, or from a column-level
 * [CONSTRAINT n] REFERENCES) to its last token, or a problem.
 */
function referencesClause(toks: readonly Tok[], at: number): { from: number; to: number } | string {
  let i = at + 1;
  if (!isName(toks[i])) return "REFERENCES <table> expected";
  i++;
  while (isPunct(toks[i], ".") && isName(toks[i + 1])) i += 2;
  const countList = (open: number) => {
    const close = closing(toks, open);
    const inner = toks.slice(open + 1, close);
    const ok = inner.length % 2 === 1 && inner.every((t, k) => (k % 2 === 0 ? isName(t) : isPunct(t, ",")));
    return { close, n: ok ? (inner.length + 1) / 2 : -1 };
  };
  let refCols: number | undefined;
  if (isPunct(toks[i], "(")) {
    const l = countList(i);
    if (l.n < 0) return "REFERENCES t (column, …) expected";
    refCols = l.n;
    i = l.close + 1;
  }
  while (isWord(toks[i], "ON")) {
    if (!isWord(toks[i + 1], "DELETE", "UPDATE")) return "ON DELETE | ON UPDATE expected";
    const a = toks[i + 2];
    const b = toks[i + 3];
    const len = isWord(a, "CASCADE") ? 1 : (isWord(a, "NO") && isWord(b, "ACTION")) || (isWord(a, "SET") && isWord(b, "NULL", "DEFAULT")) ? 2 : 0;
    if (len === 0) return `ON ${toks[i + 1]!.value} ${a?.text ?? ""}: the action must be CASCADE, NO ACTION, SET NULL or SET DEFAULT`;
    i += 2 + len;
  }
  if (isWord(toks[i], "NOT") && isWord(toks[i + 1], "FOR") && isWord(toks[i + 2], "REPLICATION")) i += 3;
  const to = i - 1;
  // Table-level: [, ] [CONSTRAINT n] FOREIGN KEY (cols) REFERENCES …
  let from = at;
  if (isPunct(toks[at - 1], ")")) {
    let open = at - 1;
    while (open > 0 && !(isPunct(toks[open], "(") && toks[open]!.depth === toks[at - 1]!.depth)) open--;
    if (!isWord(toks[open - 1], "KEY") || !isWord(toks[open - 2], "FOREIGN")) return "FOREIGN KEY (columns) expected before REFERENCES";
    const own = countList(open).n;
    if (own < 0) return "FOREIGN KEY (column, …) expected";
    if (refCols !== undefined && refCols !== own) return `FOREIGN KEY: ${own} columns reference ${refCols}`;
    from = open - 2;
  }
  if (isName(toks[from - 1]) && isWord(toks[from - 2], "CONSTRAINT")) from -= 2;
  if (from !== at && isPunct(toks[from - 1], ",")) from--; // a table-level constraint: its comma goes too
  return { from, to };
}

/** Index of the clause's last token, or a problem. */
function offsetFetch(toks: readonly Tok[], at: number): number | string {
  const value = (t: Tok | undefined) => t !== undefined && (t.kind === "number" || (t.kind === "param" && t.text.startsWith("@")));
  const rows = (t: Tok | undefined) => isWord(t, "ROW", "ROWS");
  if (!value(toks[at + 1]) || !rows(toks[at + 2])) return "OFFSET must be `OFFSET <n|@p> ROWS`";
  if (!isWord(toks[at + 3], "FETCH")) return at + 2;
  if (!isWord(toks[at + 4], "NEXT", "FIRST") || !value(toks[at + 5]) || !rows(toks[at + 6]) || !isWord(toks[at + 7], "ONLY"))
    return "FETCH must be `FETCH NEXT <n|@p> ROWS ONLY`";
  return at + 7;
}

/** Tokens from `from` up to (not including) the first at depth `depth` matching `stop`. */
function until(toks: readonly Tok[], from: number, depth: number, stop: (t: Tok) => boolean): number {
  let j = from;
  while (j < toks.length && !(toks[j]!.depth === depth && stop(toks[j]!))) j++;
  return j;
}

/** Top-level tokens; CASE … END counts as nesting, so WHEN/THEN inside CASE are not clause keywords. */
function clauseLevel(toks: readonly Tok[]): boolean[] {
  let cases = 0;
  return toks.map((t) => {
    if (t.depth !== 0) return false;
    if (isWord(t, "CASE")) {
      cases++;
      return false;
    }
    if (isWord(t, "END") && cases > 0) {
      cases--;
      return false;
    }
    return cases === 0;
  });
}

/**
 * MERGE, which node-sql-parser's transactsql grammar cannot parse at all:
 * `MERGE [INTO] target [WITH (hints)] [[AS] alias] USING source [[AS] alias[(cols)]] ON cond
 *  {WHEN [NOT] MATCHED [BY TARGET|BY SOURCE] [AND cond] THEN UPDATE SET …|DELETE|INSERT (…) VALUES (…)} ;`
 * with every expression part parsed on its own.
 */
function checkMerge(sql: string, toks: readonly Tok[], terminated: boolean): string[] {
  const problems: string[] = [];
  const bad = (why: string) => problems.push(`MERGE: ${why}: ${snippet(sql)}`);
  const top = clauseLevel(toks);
  const at = (i: number, ...w: string[]) => top[i] === true && isWord(toks[i], ...w);
  const find = (from: number, ...w: string[]) => {
    for (let j = from; j < toks.length; j++) if (at(j, ...w)) return j;
    return -1;
  };
  const text = (a: number, b: number) => (a < b ? sql.slice(toks[a]!.start, toks[b - 1]!.end) : "");
  const parses = (what: string, s: string) => {
    const err = tryParse(s);
    if (err !== undefined) bad(`${what} does not parse (${err})`);
  };
  if (!terminated) bad("must be terminated by a semicolon");
  let i = 1;
  if (at(i, "INTO")) i++;
  if (!isName(toks[i])) return (bad("target table expected"), problems);
  while (isName(toks[i]) && isPunct(toks[i + 1], ".") && isName(toks[i + 2])) i += 2;
  i++;
  if (at(i, "WITH") && isPunct(toks[i + 1], "(")) i = closing(toks, i + 1) + 1; // hints checked by checkTableHints
  if (at(i, "AS")) i++;
  if (isName(toks[i]) && !at(i, "USING")) i++;
  if (!at(i, "USING")) return (bad("USING expected after the target"), problems);
  const on = find(i + 1, "ON");
  if (on < 0) return (bad("ON expected"), problems);
  // Source: (VALUES …) or (SELECT …) or a table, then [AS] alias [(cols)].
  const src = toks.slice(i + 1, on);
  let srcCols: number | undefined;
  if (isPunct(src[0], "(")) {
    const close = src.findIndex((t) => isPunct(t, ")") && t.depth === src[0]!.depth);
    let k = close + 1;
    if (isWord(src[k], "AS")) k++;
    if (!isName(src[k])) bad("the source needs an alias");
    if (isPunct(src[k + 1], "(")) {
      srcCols = src.slice(k + 2).filter((t) => isName(t) && t.depth === src[0]!.depth + 1).length;
    }
    if (isWord(src[1], "VALUES")) {
      if (srcCols === undefined) bad("a VALUES source needs a column list: USING (VALUES …) AS s(a, b)");
      // Row widths = the column list.
      for (let r = 2; r < close; r++) {
        if (!isPunct(src[r], "(") || src[r]!.depth !== src[0]!.depth + 1) continue;
        const rc = src.findIndex((t, idx) => idx > r && isPunct(t, ")") && t.depth === src[r]!.depth);
        const width = src.slice(r + 1, rc).filter((t) => isPunct(t, ",") && t.depth === src[r]!.depth + 1).length + 1;
        if (srcCols !== undefined && width !== srcCols) bad(`a VALUES row has ${width} values for ${srcCols} columns`);
      }
    } else if (!isWord(src[1], "SELECT", "WITH")) bad("the source must be (VALUES …), (SELECT …) or a table");
  }
  parses("the source", `SELECT * FROM ${text(i + 1, on)}`);
  const firstWhen = find(on + 1, "WHEN");
  if (firstWhen < 0) return (bad("no WHEN clause"), problems);
  parses("the ON condition", `SELECT 1 FROM t WHERE ${text(on + 1, firstWhen)}`);
  // WHEN clauses.
  let w = firstWhen;
  let notMatched = 0;
  let matched = 0;
  while (w >= 0 && w < toks.length) {
    const nextWhen = find(w + 1, "WHEN");
    const outputAt = find(w + 1, "OUTPUT");
    const end = [nextWhen, outputAt].filter((x) => x >= 0).reduce((a, b) => Math.min(a, b), toks.length);
    const then = find(w + 1, "THEN");
    if (then < 0 || then >= end) {
      bad("WHEN … THEN expected");
      break;
    }
    const head = toks.slice(w + 1, then).map((t) => t.value);
    const andAt = head.indexOf("AND");
    const kind = (andAt < 0 ? head : head.slice(0, andAt)).join(" ");
    if (!["MATCHED", "NOT MATCHED", "NOT MATCHED BY TARGET", "NOT MATCHED BY SOURCE"].includes(kind)) bad(`WHEN ${kind}: expected MATCHED, NOT MATCHED [BY TARGET] or NOT MATCHED BY SOURCE`);
    if (andAt >= 0) parses("a WHEN … AND condition", `SELECT 1 FROM t WHERE ${text(w + 1 + andAt + 1, then)}`);
    const action = toks[then + 1];
    const insertAllowed = kind === "NOT MATCHED" || kind === "NOT MATCHED BY TARGET";
    if (insertAllowed) notMatched++;
    if (kind === "MATCHED") matched++;
    if (isWord(action, "UPDATE")) {
      if (insertAllowed) bad(`WHEN ${kind} THEN UPDATE: only INSERT is allowed there`);
      if (!isWord(toks[then + 2], "SET")) bad("UPDATE SET expected");
      parses("an UPDATE SET", `UPDATE t ${text(then + 2, end)}`);
    } else if (isWord(action, "DELETE")) {
      if (insertAllowed) bad(`WHEN ${kind} THEN DELETE: only INSERT is allowed there`);
      if (then + 2 !== end) bad("nothing may follow THEN DELETE");
    } else if (isWord(action, "INSERT")) {
      if (!insertAllowed) bad(`WHEN ${kind} THEN INSERT: INSERT is only allowed in WHEN NOT MATCHED`);
      const body = text(then + 2, end);
      if (/^DEFAULT\s+VALUES$/i.test(body.trim())) continue;
      const cols = then + 2;
      const valuesAt = toks.findIndex((t, idx) => idx > cols && idx < end && isWord(t, "VALUES") && t.depth === 0);
      if (valuesAt < 0) bad("INSERT … VALUES (…) expected");
      else {
        const count = (open: number) => toks.slice(open + 1, closing(toks, open)).filter((t) => isPunct(t, ",") && t.depth === 1).length + 1;
        if (isPunct(toks[cols], "(") && isPunct(toks[valuesAt + 1], "(") && count(cols) !== count(valuesAt + 1))
          bad(`INSERT lists ${count(cols)} columns and ${count(valuesAt + 1)} values`);
        parses("the INSERT", `INSERT INTO t ${body}`);
      }
    } else bad(`THEN ${action?.text ?? ""}: expected UPDATE SET, DELETE or INSERT`);
    w = nextWhen;
  }
  if (notMatched > 1) bad("at most one WHEN NOT MATCHED [BY TARGET] clause");
  if (matched > 2) bad("at most two WHEN MATCHED clauses");
  return problems;
}

/**
 * ALTER TABLE … ADD [CONSTRAINT n] FOREIGN KEY (…) REFERENCES t [(…)] [ON DELETE a] [ON UPDATE a]
 * [NOT FOR REPLICATION], which the grammar cannot parse in ALTER TABLE.
 */
function checkForeignKey(sql: string, toks: readonly Tok[]): string[] {
  const bad = (why: string) => [`ALTER TABLE … FOREIGN KEY: ${why}: ${snippet(sql)}`];
  let i = 0;
  const word = (...w: string[]) => isWord(toks[i], ...w) && ++i > 0;
  const name = () => {
    if (!isName(toks[i])) return false;
    i++;
    while (isPunct(toks[i], ".") && isName(toks[i + 1])) i += 2;
    return true;
  };
  const list = (): number => {
    if (!isPunct(toks[i], "(")) return -1;
    const close = closing(toks, i);
    const inner = toks.slice(i + 1, close);
    const ok = inner.every((t, k) => (k % 2 === 0 ? isName(t) : isPunct(t, ","))) && inner.length % 2 === 1;
    i = close + 1;
    return ok ? (inner.length + 1) / 2 : -1;
  };
  const action = () => word("CASCADE") || (word("NO") && word("ACTION")) || (word("SET") && word("NULL", "DEFAULT"));
  if (!word("ALTER") || !word("TABLE") || !name()) return bad("ALTER TABLE <name> expected");
  if (word("WITH")) if (!word("CHECK", "NOCHECK")) return bad("WITH CHECK | NOCHECK expected");
  if (!word("ADD")) return bad("ADD expected");
  if (word("CONSTRAINT") && !name()) return bad("constraint name expected");
  if (!word("FOREIGN") || !word("KEY")) return bad("FOREIGN KEY expected");
  const own = list();
  if (own < 0) return bad("(column, …) expected after FOREIGN KEY");
  if (!word("REFERENCES") || !name()) return bad("REFERENCES <table> expected");
  if (isPunct(toks[i], "(")) {
    const ref = list();
    if (ref < 0) return bad("(column, …) expected after the referenced table");
    if (ref !== own) return bad(`${own} columns reference ${ref}`);
  }
  while (word("ON")) {
    if (!word("DELETE", "UPDATE")) return bad("ON DELETE | ON UPDATE expected");
    if (!action()) return bad("CASCADE, NO ACTION, SET NULL or SET DEFAULT expected");
  }
  if (word("NOT") && !(word("FOR") && word("REPLICATION"))) return bad("NOT FOR REPLICATION expected");
  if (i !== toks.length) return bad(`unexpected ${toks[i]!.text}`);
  return [];
}

/** EXEC[UTE] <procedure> [arg, …] with literal or parameter arguments, which the grammar cannot parse. */
function checkExec(sql: string, toks: readonly Tok[]): string[] {
  let i = 1;
  if (!isName(toks[i])) return [`EXEC: procedure name expected: ${snippet(sql)}`];
  i++;
  while (isPunct(toks[i], ".") && isName(toks[i + 1])) i += 2;
  while (i < toks.length) {
    if (toks[i]!.kind === "param" && toks[i + 1]?.text === "=") i += 2;
    const v = toks[i];
    if (!(v && (v.kind === "string" || v.kind === "number" || v.kind === "param" || isWord(v, "NULL", "DEFAULT")))) return [`EXEC: argument expected, found ${v?.text ?? "end"}: ${snippet(sql)}`];
    i++;
    if (isWord(toks[i], "OUTPUT", "OUT")) i++;
    if (i < toks.length && !isPunct(toks[i], ",")) return [`EXEC: , expected, found ${toks[i]!.text}: ${snippet(sql)}`];
    if (isPunct(toks[i], ",")) i++;
  }
  return [];
}

// ---------------------------------------------------------------------------------------------
// Oracle

/** Oracle Database SQL Language Reference, "Oracle SQL Reserved Words". */
export const ORACLE_RESERVED = new Set(
  `ACCESS ADD ALL ALTER AND ANY AS ASC AUDIT BETWEEN BY CHAR CHECK CLUSTER COLUMN COMMENT COMPRESS CONNECT
   CREATE CURRENT DATE DECIMAL DEFAULT DELETE DESC DISTINCT DROP ELSE EXCLUSIVE EXISTS FILE FLOAT FOR FROM
   GRANT GROUP HAVING IDENTIFIED IMMEDIATE IN INCREMENT INDEX INITIAL INSERT INTEGER INTERSECT INTO IS LEVEL
   LIKE LOCK LONG MAXEXTENTS MINUS MLSLABEL MODE MODIFY NOAUDIT NOCOMPRESS NOT NOWAIT NULL NUMBER OF OFFLINE
   ON ONLINE OPTION OR ORDER PCTFREE PRIOR PUBLIC RAW RENAME RESOURCE REVOKE ROW ROWID ROWNUM ROWS SELECT
   SESSION SET SHARE SIZE SMALLINT START SUCCESSFUL SYNONYM SYSDATE TABLE THEN TO TRIGGER UID UNION UNIQUE
   UPDATE USER VALIDATE VALUES VARCHAR VARCHAR2 VIEW WHENEVER WHERE WITH`.split(/\s+/).filter(Boolean),
);

/** Table and column names of tlim's schema (the entities), lower case. */
export function schemaIdentifiers(): Set<string> {
  const names = new Set<string>([MIGRATIONS_TABLE, "id", "timestamp", "name"]);
  for (const e of entitySchemas("sqlite")) {
    names.add(String(e.options.tableName ?? e.options.name).toLowerCase());
    for (const c of Object.keys(e.options.columns)) names.add(c.toLowerCase());
  }
  return names;
}

/** Column types of other databases that Oracle 19c does not have. */
const NOT_ORACLE_TYPES = new Map([
  ["BIGINT", "NUMBER(19)"],
  ["TINYINT", "NUMBER(3)"],
  ["MEDIUMINT", "NUMBER(7)"],
  ["TEXT", "CLOB"],
  ["MEDIUMTEXT", "CLOB"],
  ["LONGTEXT", "CLOB"],
  ["DATETIME", "TIMESTAMP"],
  ["BOOLEAN", "NUMBER(1) (BOOLEAN needs Oracle 23ai)"],
  ["BOOL", "NUMBER(1)"],
  ["AUTO_INCREMENT", "GENERATED … AS IDENTITY"],
  ["AUTOINCREMENT", "GENERATED … AS IDENTITY"],
  ["NVARCHAR", "NVARCHAR2"],
]);

const PLSQL_START = /^(?:BEGIN|DECLARE|CREATE(?: OR REPLACE)?(?: EDITIONABLE| NONEDITIONABLE)? (?:TRIGGER|PROCEDURE|FUNCTION|PACKAGE|TYPE BODY))$/;

export interface OracleCheckOptions {
  /**
   * Table and column names of the schema (any case); any that is an Oracle reserved word must be
   * double-quoted wherever it is used. Default: schemaIdentifiers().
   */
  identifiers?: Iterable<string>;
  /** NOT NULL columns per table (lower case): an empty string bound into one is stored as NULL, and refused. */
  notNull?: Record<string, ReadonlySet<string>>;
}

/**
 * Problems Oracle would have with `sql` bound to `params` by position (oracledb array binds: one
 * value per placeholder occurrence in SQL, per distinct name in PL/SQL). Empty: none found.
 */
export function checkOracle(sql: string, params: readonly unknown[], opts: OracleCheckOptions = {}): string[] {
  const problems: string[] = [];
  const toks = lex(sql, "oracle", problems);
  if (toks.length === 0) return ["empty statement"];
  const lead = toks.slice(0, 5).filter((t) => t.kind === "word").map((t) => t.value);
  const plsql = [1, 2, 3, 4, 5].some((n) => PLSQL_START.test(lead.slice(0, n).join(" ")));
  const trigger = lead.includes("TRIGGER") && plsql;
  const identifiers = new Set([...(opts.identifiers ?? schemaIdentifiers())].map((s) => s.toUpperCase()));

  // One statement: a `;` only as PL/SQL's own terminator.
  if (plsql) {
    const last = toks[toks.length - 1]!;
    const beforeLast = toks[toks.length - 2];
    const endsWithEnd = isWord(beforeLast, "END") || (isName(beforeLast) && isWord(toks[toks.length - 3], "END"));
    if (!isPunct(last, ";") || !endsWithEnd) problems.push("a PL/SQL block must end with END;");
  } else {
    const semis = toks.filter((t) => isPunct(t, ";"));
    if (semis.length > 0)
      problems.push(
        semis.length === 1 && semis[0] === toks[toks.length - 1]
          ? "trailing `;`: Oracle refuses it in a statement sent by a driver (ORA-00933/ORA-00911)"
          : "more than one statement in one text: Oracle runs one statement per call (wrap several in BEGIN … END;)",
      );
  }

  // Binds.
  const binds = toks.filter((t) => t.kind === "param" && !(trigger && /^:(NEW|OLD|PARENT)$/i.test(t.text)));
  const colonBinds: Tok[] = [];
  for (const t of binds) {
    if (t.text === "?") problems.push("`?` placeholder: Oracle binds are :1, :2, … or :name");
    else if (t.text.startsWith("$")) problems.push(`\`${t.text}\` placeholder: Oracle binds are :1, :2, … or :name`);
    else colonBinds.push(t);
  }
  const distinct = new Set(colonBinds.map((t) => t.text.toUpperCase()));
  const expected = plsql ? distinct.size : colonBinds.length;
  if (expected > ORACLE_MAX_BINDS || params.length > ORACLE_MAX_BINDS)
    problems.push(`${Math.max(expected, params.length)} bind variables: Oracle allows at most ${ORACLE_MAX_BINDS} in one statement`);
  if (expected !== params.length && colonBinds.length + params.length > 0)
    problems.push(`${params.length} values bound by position to ${expected} placeholder${plsql ? " names" : "s"}`);

  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    const next = toks[i + 1];
    if (t.kind === "backtick") problems.push(`backtick-quoted identifier ${t.text}: Oracle quotes identifiers with " "`);
    else if (t.kind === "string" && t.value === "") problems.push("'' literal: Oracle reads an empty string as NULL");
    else if (isWord(t, "LIMIT")) problems.push("LIMIT: Oracle uses FETCH FIRST n ROWS ONLY (or OFFSET n ROWS FETCH NEXT m ROWS ONLY)");
    else if (isWord(t, "OFFSET") && !isWord(toks[i + 2], "ROW", "ROWS")) problems.push("OFFSET without ROWS: Oracle needs OFFSET n ROWS");
    else if (isWord(t, "IF") && isWord(next, "NOT", "EXISTS") && !plsql) problems.push("IF [NOT] EXISTS: not in Oracle 19c DDL (needs 23ai)");
    else if (isWord(t, "ON") && isWord(next, "DUPLICATE", "CONFLICT")) problems.push(`ON ${next!.value}: not Oracle SQL (use MERGE)`);
    else if (isWord(t, "INSERT") && isWord(next, "IGNORE", "OR")) problems.push(`INSERT ${next!.value}: not Oracle SQL (use MERGE)`);
    else if (isWord(t, "RETURNING") && !plsql && !toks.some((u) => isWord(u, "INTO") && u.start > t.start)) problems.push("RETURNING without INTO: Oracle's RETURNING … INTO needs out binds");
    else if (isWord(t, "SELECT") && !selectHasFrom(toks, i)) problems.push("SELECT without FROM: Oracle needs FROM dual");
    else if (isPunct(t, "(") && isWord(toks[i - 1], "IN")) {
      const close = closing(toks, i);
      if (!isWord(next, "SELECT", "WITH")) {
        const items = toks.slice(i + 1, close).filter((u) => isPunct(u, ",") && u.depth === t.depth + 1).length + 1;
        if (items > ORACLE_MAX_IN_LIST) problems.push(`IN list of ${items} expressions: Oracle allows at most ${ORACLE_MAX_IN_LIST} (ORA-01795)`);
      }
    } else if (t.kind === "word" && identifiers.has(t.value) && ORACLE_RESERVED.has(t.value))
      problems.push(`${t.text}: an Oracle reserved word used as an unquoted identifier; write "${t.text.toLowerCase()}"`);
    else if (t.kind === "word" && isWord(toks[i - 1], "AS") && ORACLE_RESERVED.has(t.value) && !NOT_ALIASES.has(t.value) && !isPunct(next, "("))
      problems.push(`alias ${t.text}: an Oracle reserved word; quote it`);
    else if ((t.kind === "word" || t.kind === "qident") && Buffer.byteLength(t.value) > 128)
      problems.push(`identifier ${t.text.slice(0, 20)}…: longer than Oracle's 128 bytes`);
    else if (isWord(t, "VARCHAR2", "NVARCHAR2", "RAW") && isPunct(next, "(") && toks[i + 2]?.kind === "number") {
      const n = Number(toks[i + 2]!.text);
      const max = t.value === "NVARCHAR2" ? 2000 : t.value === "RAW" ? 2000 : 4000;
      if (n > max) problems.push(`${t.value}(${n}): more than ${max}, which needs MAX_STRING_SIZE = EXTENDED (use CLOB)`);
    } else if (t.kind === "word" && NOT_ORACLE_TYPES.has(t.value) && isDdl(lead) && !isPunct(toks[i - 1], "."))
      problems.push(`${t.value}: not an Oracle type or option (${NOT_ORACLE_TYPES.get(t.value)})`);
    else if (isWord(t, "EXECUTE") && isWord(next, "IMMEDIATE") && toks[i + 2]?.kind === "string") {
      for (const p of checkOracle(toks[i + 2]!.value, [], opts)) problems.push(`in EXECUTE IMMEDIATE: ${p}`);
    }
  }

  if (opts.notNull && params.length > 0 && !plsql) problems.push(...emptyIntoNotNull(toks, colonBinds, params, opts.notNull));
  return [...new Set(problems)];
}

const isDdl = (lead: readonly string[]) => (lead[0] === "CREATE" || lead[0] === "ALTER") && lead.includes("TABLE");

/** Reserved words that follow AS as keywords, not aliases: CAST(x AS NUMBER), CREATE TABLE … AS SELECT. */
const NOT_ALIASES = new Set(["CHAR", "DATE", "DECIMAL", "FLOAT", "INTEGER", "LONG", "NUMBER", "RAW", "SMALLINT", "VARCHAR", "VARCHAR2", "SELECT", "WITH", "VALUES"]);

/** Whether the SELECT at `at` has a FROM at its own level before its query ends. */
function selectHasFrom(toks: readonly Tok[], at: number): boolean {
  const d = toks[at]!.depth;
  for (let j = at + 1; j < toks.length; j++) {
    const t = toks[j]!;
    if (t.depth < d || (isPunct(t, ")") && t.depth === d - 1)) return false;
    if (t.depth !== d) continue;
    if (isWord(t, "FROM")) return true;
    if (isPunct(t, ";") || isWord(t, "UNION", "INTERSECT", "MINUS", "EXCEPT", "SELECT")) return false;
  }
  return false;
}

const unquote = (t: Tok) => (t.kind === "qident" ? t.value : t.value.toLowerCase());

/**
 * Empty strings bound into NOT NULL columns, where binds map to columns:
 * INSERT [ALL] INTO t (cols) VALUES (…) [INTO …], UPDATE t SET c = :n, and
 * MERGE INTO t USING (SELECT :1 c1, … FROM dual [UNION ALL …]) s … INSERT (cols) VALUES (s.c1, …) / UPDATE SET col = s.c1.
 */
function emptyIntoNotNull(toks: readonly Tok[], binds: readonly Tok[], params: readonly unknown[], notNull: Record<string, ReadonlySet<string>>): string[] {
  const out: string[] = [];
  const valueOf = (bind: Tok) => params[binds.indexOf(bind)];
  const report = (table: string, column: string, bind: Tok) => {
    if (valueOf(bind) === "" && notNull[table]?.has(column))
      out.push(`'' bound (${bind.text}) into NOT NULL ${table}.${column}: Oracle stores an empty string as NULL and refuses it (ORA-01400)`);
  };
  const tableAt = (j: number): [string, number] => {
    let k = j;
    while (isName(toks[k]) && isPunct(toks[k + 1], ".") && isName(toks[k + 2])) k += 2;
    return [toks[k] ? unquote(toks[k]!) : "", k + 1];
  };
  /** Names in a (a, b, c) list at `open`. */
  const names = (open: number) => {
    const close = closing(toks, open);
    return toks.slice(open + 1, close).filter((t) => t.depth === toks[open]!.depth + 1 && isName(t)).map(unquote);
  };
  /** Top-level items of a (…) list at `open`, as token ranges. */
  const items = (open: number) => {
    const close = closing(toks, open);
    const res: Tok[][] = [[]];
    for (let j = open + 1; j < close; j++) {
      if (isPunct(toks[j], ",") && toks[j]!.depth === toks[open]!.depth + 1) res.push([]);
      else res[res.length - 1]!.push(toks[j]!);
    }
    return res;
  };
  const isMerge = isWord(toks[0], "MERGE");
  // INSERT [ALL] INTO t (cols) VALUES (…): every INTO clause.
  for (let j = 0; j < toks.length; j++) {
    if (!isWord(toks[j], "INTO") || isMerge) continue;
    const [table, after] = tableAt(j + 1);
    let k = after;
    if (isName(toks[k]) && !isWord(toks[k], "VALUES")) k++; // alias
    if (!isPunct(toks[k], "(")) continue;
    const cols = names(k);
    const v = closing(toks, k) + 1;
    if (!isWord(toks[v], "VALUES") || !isPunct(toks[v + 1], "(")) continue;
    items(v + 1).forEach((item, n) => {
      if (item.length === 1 && item[0]!.kind === "param" && cols[n] !== undefined) report(table, cols[n]!, item[0]!);
    });
  }
  // UPDATE t SET c = :n, …
  if (isWord(toks[0], "UPDATE")) {
    const [table] = tableAt(1);
    for (let j = 0; j < toks.length; j++) {
      if (isName(toks[j]) && toks[j + 1]?.text === "=" && toks[j + 2]?.kind === "param" && toks[j]!.depth === 0 && toks.slice(0, j).some((t) => isWord(t, "SET")) && !toks.slice(0, j).some((t) => isWord(t, "WHERE")))
        report(table, unquote(toks[j]!), toks[j + 2]!);
    }
  }
  // MERGE INTO t USING (SELECT :1 c1, … FROM dual …) s
  if (isMerge && isWord(toks[1], "INTO")) {
    const [table] = tableAt(2);
    const using = toks.findIndex((t) => isWord(t, "USING") && t.depth === 0);
    if (using >= 0 && isPunct(toks[using + 1], "(")) {
      const open = using + 1;
      const close = closing(toks, open);
      // Each SELECT list in the source: `:n alias` or `:n AS alias`.
      const aliasBinds = new Map<string, Tok[]>();
      for (let j = open + 1; j < close; j++) {
        if (toks[j]!.kind !== "param") continue;
        const a = isWord(toks[j + 1], "AS") ? toks[j + 2] : toks[j + 1];
        if (a && isName(a) && !isWord(a, "FROM")) {
          const key = unquote(a);
          aliasBinds.set(key, [...(aliasBinds.get(key) ?? []), toks[j]!]);
        }
      }
      const sourceAlias = (t: Tok | undefined, dot: Tok | undefined, col: Tok | undefined) => (isName(t) && isPunct(dot, ".") && isName(col) ? unquote(col!) : undefined);
      for (let j = close + 1; j < toks.length; j++) {
        // INSERT (cols) VALUES (s.a | :n, …)
        if (isWord(toks[j], "INSERT") && isPunct(toks[j + 1], "(")) {
          const cols = names(j + 1);
          const v = closing(toks, j + 1) + 1;
          if (isWord(toks[v], "VALUES") && isPunct(toks[v + 1], "("))
            items(v + 1).forEach((item, n) => {
              if (cols[n] === undefined) return;
              if (item.length === 1 && item[0]!.kind === "param") report(table, cols[n]!, item[0]!);
              const alias = item.length === 3 ? sourceAlias(item[0], item[1], item[2]) : undefined;
              if (alias) for (const b of aliasBinds.get(alias) ?? []) report(table, cols[n]!, b);
            });
        }
        // UPDATE SET [t.]col = s.a | :n
        if (isName(toks[j]) && toks[j + 1]?.text === "=" && toks[j]!.depth === 0 && toks.slice(close, j).some((t) => isWord(t, "SET"))) {
          if (toks[j + 2]?.kind === "param") report(table, unquote(toks[j]!), toks[j + 2]!);
          const alias = sourceAlias(toks[j + 2], toks[j + 3], toks[j + 4]);
          if (alias) for (const b of aliasBinds.get(alias) ?? []) report(table, unquote(toks[j]!), b);
        }
      }
    }
  }
  return [...new Set(out)];
}

// ---------------------------------------------------------------------------------------------
// Script files (sql/*.sql)

export type ScriptStyle = "semicolon" | "sqlplus" | "sqlcmd";

/**
 * Splits a sql/ script into its statements, as the database's command-line tool would: `;`
 * outside literals and comments (sqlite3 and mysql clients; a CREATE TRIGGER … BEGIN … END; is one
 * statement), SQL*Plus (`;` ends a SQL statement, a PL/SQL block runs at a `/` line; SQL*Plus
 * commands such as SET and WHENEVER are left out) or sqlcmd (`GO` lines end a batch). Statements
 * come without their terminator, except a PL/SQL block's own `END;`.
 */
export function splitScript(text: string, style: ScriptStyle): string[] {
  const out: string[] = [];
  if (style === "sqlcmd") {
    for (const batch of text.split(/^[ \t]*GO[ \t]*$/im)) {
      const body = leadingComments(batch.replace(/;\s*$/, "").trim());
      if (stripComments(body) !== "") out.push(body);
    }
    return out;
  }
  const lines = text.split("\n");
  let buf: string[] = [];
  let plsql = false;
  const flush = () => {
    const body = leadingComments(buf.join("\n").trim());
    if (stripComments(body) !== "") out.push(body);
    buf = [];
    plsql = false;
  };
  for (const line of lines) {
    const pending = stripComments(buf.join("\n"));
    if (style === "sqlplus" && pending === "") {
      if (/^\s*(?:SET|WHENEVER|PROMPT|REM(?:ARK)?|SPOOL|EXIT)\b/i.test(line)) continue;
      if (/^\s*(?:BEGIN|DECLARE|CREATE\s+(?:OR\s+REPLACE\s+)?(?:(?:EDITIONABLE|NONEDITIONABLE)\s+)?(?:TRIGGER|PROCEDURE|FUNCTION|PACKAGE|TYPE\s+BODY))\b/i.test(line)) plsql = true;
    }
    if (style === "sqlplus" && plsql && /^\s*\/\s*$/.test(line)) {
      flush();
      continue;
    }
    buf.push(line);
    if (plsql) continue;
    const joined = buf.join("\n");
    if (endsStatement(joined, style)) {
      buf = [joined.replace(/;\s*$/, "")];
      flush();
    }
  }
  flush();
  return out;
}

/** Whether the text ends with a `;` outside literals/comments (and outside a SQLite trigger body). */
function endsStatement(text: string, style: ScriptStyle): boolean {
  if (!/;\s*$/.test(text)) return false;
  const problems: string[] = [];
  const toks = lex(text, style === "sqlplus" ? "oracle" : "tsql", problems);
  const last = toks[toks.length - 1];
  if (!last || !isPunct(last, ";") || problems.length > 0) return false;
  if (isWord(toks[0], "CREATE") && toks.slice(0, 6).some((t) => isWord(t, "TRIGGER"))) {
    // BEGIN … END; nesting (CASE … END too).
    let depth = 0;
    for (const t of toks) {
      if (isWord(t, "BEGIN", "CASE")) depth++;
      else if (isWord(t, "END")) depth--;
    }
    return depth <= 0 && isWord(toks[toks.length - 2], "END");
  }
  return true;
}

/** A statement without the comment lines before it. */
const leadingComments = (s: string) => s.replace(/^(?:[ \t]*(?:--[^\n]*)?\n)+/, "").trim();

function stripComments(s: string): string {
  return s.replace(/--[^\n]*/g, "").replace(/\/\*[\s\S]*?\*\//g, "").trim();
}
