// `npm run sql:generate`: writes sql/<database>.sql, the schema of every database kind that has a
// migration set, from the migrations themselves (src/store/sql/migrations/script.ts renders them).
// test/store/sql-files.test.ts fails when the committed files and the migrations drift.
import "reflect-metadata";
import { writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { MIGRATION_KINDS } from "../src/store/sql/migrations/index.js";
import { schemaScript } from "../src/store/sql/migrations/script.js";

const dir = fileURLToPath(new URL("../sql/", import.meta.url));
mkdirSync(dir, { recursive: true });
const written = new Map<string, string>();
for (const kind of MIGRATION_KINDS) {
  const { file, text } = await schemaScript(kind);
  const before = written.get(file);
  if (before !== undefined) throw new Error(`kinds '${before}' and '${kind}' both map to sql/${file}`);
  written.set(file, kind);
  writeFileSync(join(dir, file), text);
  console.log(`sql/${file} (${kind})`);
}
