// XEP-0133 provisioning against scripted answers: how Prosody and ejabberd 23.01 say "already
// there" / "not there" (as captured from the real servers; test/integration/http-users.test.ts
// runs the same against both), and that the same conditions anywhere else stay failures.
import xml, { type Element } from "@xmpp/xml";
import { describe, expect, it } from "vitest";
import { ProvisionError, xep0133Provisioner, type IqRequest } from "../../src/transports/http/provision.js";

const NS_COMMANDS = "http://jabber.org/protocol/commands";

type Answer = { notes?: Array<[string, string]> } | { error: string; text?: string };

/** A server: the answer to `execute` (the form, unless an error is given), then to `complete`. */
function server(execute: Answer | "form", complete: Answer): { request: IqRequest; steps: string[] } {
  const steps: string[] = [];
  const answer = (a: Answer, cmd: Element, status: string): Element => {
    if ("error" in a) throw Object.assign(new Error(a.text ?? a.error), { name: "StanzaError", condition: a.error, text: a.text ?? "" });
    return xml(
      "iq",
      { type: "result" },
      xml("command", { xmlns: NS_COMMANDS, node: cmd.attrs.node, sessionid: "s1", status }, ...(a.notes ?? []).map(([type, text]) => xml("note", { type }, text))),
    );
  };
  const request: IqRequest = async (iq) => {
    const cmd = iq.getChild("command", NS_COMMANDS)!;
    const action = String(cmd.attrs.action);
    steps.push(action);
    if (action === "execute") return execute === "form" ? answer({}, cmd, "executing") : answer(execute, cmd, "executing");
    return answer(complete, cmd, "completed");
  };
  return { request, steps };
}

const provisioner = (request: IqRequest) => xep0133Provisioner(request, { componentDomain: "tlim.localhost", userDomain: "localhost", timeoutMs: 1000 });

describe("XEP-0133 provisioning outcomes", () => {
  it("created / removed when the command completes without an error note", async () => {
    expect(await provisioner(server("form", {}).request).create("u1", "pw")).toBe("created");
    expect(await provisioner(server("form", {}).request).remove("u1")).toBe("removed");
  });

  it("Prosody: an error note 'Account already exists' = exists; an info note 'could not be deleted' = absent", async () => {
    expect(await provisioner(server("form", { notes: [["error", "Account already exists"]] }).request).create("u1", "pw")).toBe("exists");
    expect(await provisioner(server("form", { notes: [["info", "The following accounts could not be deleted:\nu1@localhost"]] }).request).remove("u1")).toBe("absent");
  });

  it("ejabberd: <conflict/> in answer to the add-user form = exists; <item-not-found/> to the delete-user form = absent", async () => {
    const add = server("form", { error: "conflict" });
    expect(await provisioner(add.request).create("u1", "pw")).toBe("exists");
    expect(add.steps).toEqual(["execute", "complete"]);
    const del = server("form", { error: "item-not-found", text: "No hook has processed this command" });
    expect(await provisioner(del.request).remove("u1")).toBe("absent");
    expect(del.steps).toEqual(["execute", "complete"]);
  });

  it("the same conditions in answer to execute (no form offered) are failures, with the hint", async () => {
    await expect(provisioner(server({ error: "item-not-found" }, {}).request).remove("u1")).rejects.toThrow(/item-not-found.*not enabled/);
    await expect(provisioner(server({ error: "conflict" }, {}).request).create("u1", "pw")).rejects.toThrow(ProvisionError);
    await expect(provisioner(server({ error: "forbidden" }, {}).request).create("u1", "pw")).rejects.toThrow(/make it an admin/);
  });

  it("any other error to the form is a failure: item-not-found to add-user, conflict to delete-user, other notes", async () => {
    await expect(provisioner(server("form", { error: "item-not-found" }).request).create("u1", "pw")).rejects.toThrow(/item-not-found/);
    await expect(provisioner(server("form", { error: "conflict" }).request).remove("u1")).rejects.toThrow(/conflict/);
    await expect(provisioner(server("form", { error: "not-allowed" }).request).create("u1", "pw")).rejects.toThrow(/not-allowed/);
    await expect(provisioner(server("form", { notes: [["error", "Failed to create"]] }).request).create("u1", "pw")).rejects.toThrow(/add-user: Failed to create/);
    await expect(provisioner(server("form", { notes: [["error", "Storage error"]] }).request).remove("u1")).rejects.toThrow(/delete-user: Storage error/);
  });
});
