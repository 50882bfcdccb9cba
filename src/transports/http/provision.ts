// XMPP account provisioning for addUser/removeUser (TLIM_PROVISION_ACCOUNTS=1) through XEP-0133
// service administration, run as XEP-0050 ad-hoc commands sent by the component to the users'
// domain. The server must let the component's JID run them (docs/http-api.md: Prosody needs
// `admins = { "<component domain>" }` and mod_admin_adhoc; ejabberd: mod_configure and the
// `configure` access rule, docs/servers.md). The IQ round trip is injected by main.ts, so this
// file never touches the XMPP transport.
//
// The servers answer "already there" and "not there" differently (both tested):
//  - Prosody completes the command with a note: add-user "Account already exists" (an error
//    note), delete-user "... could not be deleted" (an info note listing the absent JIDs);
//  - ejabberd 23.01 answers the submitted form with an IQ error: add-user <conflict/> when the
//    account exists; delete-user <item-not-found/> "No hook has processed this command" when it
//    does not (ejabberd says item-not-found for any failure inside a command's form handler).
// Only an error in answer to the *submitted form* can mean that: the server has then already
// offered the form, so the component is allowed to run the command and the command exists. The
// same condition in answer to `execute` (commands not enabled, not an admin) stays a failure.
import xml, { type Element } from "@xmpp/xml";

const NS_COMMANDS = "http://jabber.org/protocol/commands";
const NS_DATA = "jabber:x:data";
const NS_ADMIN = "http://jabber.org/protocol/admin";

/** Sends an IQ and resolves with the result (rejects on an error reply or a timeout). */
export type IqRequest = (iq: Element, timeoutMs: number) => Promise<Element>;

export interface AccountProvisioner {
  /** "exists" when the server already has the account (its password is left alone). */
  create(userId: string, password: string): Promise<"created" | "exists">;
  /** "absent" when the server had no such account. */
  remove(userId: string): Promise<"removed" | "absent">;
}

export class ProvisionError extends Error {
  constructor(
    message: string,
    /** The IQ error condition, when the server answered with one. */
    readonly condition?: string,
    /** Which request it answered: `execute` (asking for the form) or `complete` (the submitted form). */
    readonly step?: "execute" | "complete",
  ) {
    super(message);
    this.name = "ProvisionError";
  }
}

/** An IQ error with this condition in answer to the submitted form (see the file's head). */
const refusedForm = (err: unknown, condition: string): boolean =>
  err instanceof ProvisionError && err.step === "complete" && err.condition === condition;

export function xep0133Provisioner(request: IqRequest, opts: { componentDomain: string; userDomain: string; timeoutMs: number }): AccountProvisioner {
  /** XEP-0050 §3.4: execute, get the form and its session id, submit it; returns the notes. */
  const run = async (node: string, fields: Record<string, string | string[]>): Promise<Array<{ type: string; text: string }>> => {
    const command = `${NS_ADMIN}#${node}`;
    const first = await send(xml("command", { xmlns: NS_COMMANDS, node: command, action: "execute" }), "execute");
    const sessionid = first.attrs.sessionid as string | undefined;
    if (first.attrs.status !== "executing" || !sessionid) throw new ProvisionError(`${node}: the server did not offer the form (status '${first.attrs.status ?? "?"}')`);
    const form = xml(
      "x",
      { xmlns: NS_DATA, type: "submit" },
      xml("field", { var: "FORM_TYPE", type: "hidden" }, xml("value", {}, NS_ADMIN)),
      ...Object.entries(fields).map(([name, v]) => xml("field", { var: name }, ...(Array.isArray(v) ? v : [v]).map((x) => xml("value", {}, x)))),
    );
    const done = await send(xml("command", { xmlns: NS_COMMANDS, node: command, sessionid, action: "complete" }, form), "complete");
    const notes = done.getChildren("note").map((n) => ({ type: String(n.attrs.type ?? "info"), text: n.text() }));
    if (done.attrs.status !== "completed") throw new ProvisionError(`${node}: the command ended with status '${done.attrs.status ?? "?"}'`);
    return notes;
  };

  const send = async (command: Element, step: "execute" | "complete"): Promise<Element> => {
    const iq = xml("iq", { type: "set", to: opts.userDomain, from: opts.componentDomain }, command);
    let reply: Element;
    try {
      reply = await request(iq, opts.timeoutMs);
    } catch (err) {
      const e = err as { name?: string; condition?: string; text?: string; message?: string };
      if (e.name === "StanzaError") {
        const hint = e.condition === "forbidden" || e.condition === "not-authorized"
          ? ` (the server does not let ${opts.componentDomain} run XEP-0133 commands: make it an admin)`
          : e.condition === "service-unavailable" || e.condition === "item-not-found" || e.condition === "feature-not-implemented"
            ? " (XEP-0133 commands are not enabled on the server)"
            : "";
        throw new ProvisionError(`the server refused: ${e.condition ?? "error"}${e.text ? ` '${e.text}'` : ""}${hint}`, e.condition, step);
      }
      throw new ProvisionError(`no answer from the server: ${e.message ?? String(err)}`);
    }
    const cmd = reply.getChild("command", NS_COMMANDS);
    if (!cmd) throw new ProvisionError("the server's answer has no <command/>");
    return cmd;
  };

  const jid = (userId: string) => `${userId}@${opts.userDomain}`;

  return {
    async create(userId, password) {
      let notes: Array<{ type: string; text: string }>;
      try {
        notes = await run("add-user", { accountjid: jid(userId), password, "password-verify": password });
      } catch (err) {
        // ejabberd: <conflict/> in answer to the form = the account exists.
        if (refusedForm(err, "conflict")) return "exists";
        throw err;
      }
      const error = notes.find((n) => n.type === "error");
      if (!error) return "created";
      // Prosody: an error note "Account already exists".
      if (/already exists/i.test(error.text)) return "exists";
      throw new ProvisionError(`add-user: ${error.text}`);
    },
    async remove(userId) {
      let notes: Array<{ type: string; text: string }>;
      try {
        notes = await run("delete-user", { accountjids: [jid(userId)] });
      } catch (err) {
        // ejabberd: <item-not-found/> in answer to the form = no such account. The form names
        // one valid JID of the very domain the command went to, so the only check of ejabberd's
        // handler that can fail is the one that the account exists.
        if (refusedForm(err, "item-not-found")) return "absent";
        throw err;
      }
      const error = notes.find((n) => n.type === "error");
      if (error) throw new ProvisionError(`delete-user: ${error.text}`);
      // Prosody answers with an info note listing what "could not be deleted" (no such account).
      return notes.some((n) => /could not be deleted/i.test(n.text)) ? "absent" : "removed";
    },
  };
}
