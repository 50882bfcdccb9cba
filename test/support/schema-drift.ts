// TypeORM's schema drift check: what TypeORM would change to make the database's schema match the
// entities (src/store/sql/datasource.ts). Empty after the migrations, or after a sql/ script,
// means the migrations and the entities describe the same schema.
import { DataSource } from "typeorm";
import type { MysqlDataSourceOptions } from "typeorm/driver/mysql/MysqlDataSourceOptions.js";
import { createDataSource } from "../../src/store/sql/datasource.js";

/** The statements TypeORM's schema builder would run on the database at `url` ([] = no drift). */
export async function schemaDrift(url: string): Promise<string[]> {
  let ds = createDataSource(url);
  await ds.initialize();
  try {
    if (ds.options.type === "mysql") {
      // TypeORM reads MariaDB's information_schema right only under type "mariadb" (it reports
      // DEFAULT NULL as the string 'NULL'); the store itself uses type "mysql" for both.
      const [{ v }] = (await ds.query("SELECT VERSION() AS v")) as Array<{ v: string }>;
      if (/mariadb/i.test(v)) {
        await ds.destroy();
        ds = new DataSource({ ...(ds.options as MysqlDataSourceOptions), type: "mariadb" });
        await ds.initialize();
      }
    }
    const log = await ds.driver.createSchemaBuilder().log();
    return log.upQueries.map((q) => q.query);
  } finally {
    if (ds.isInitialized) await ds.destroy();
  }
}
