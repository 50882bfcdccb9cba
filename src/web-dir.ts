// Where the demo web client's files are: web/ at the package root, next to src/ and dist/ (both
// one level below it, so this file finds it from either).
import { fileURLToPath } from "node:url";

export function webDir(): string {
  return fileURLToPath(new URL("../web/", import.meta.url));
}
