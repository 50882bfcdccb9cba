// tlim demo web client (docs/demo.md). Plain ES module and DOM, no framework.
//
// Messaging is XMPP over the server's WebSocket (RFC 7395) with @xmpp/client's browser build,
// speaking the tlim envelope (docs/protocol.md): content MTT-00x / MTS-00x, read receipts
// MTT-100 / MTS-100, revokes MTT-101 / MTS-101, addressed to <peer>@C or <session>@C. The
// conversation list, history, uploads and file URLs come from tlim's /web/api/ with a token this
// user got by logging in (never the API secret).

const $ = (id) => document.getElementById(id);
const RECEIPTS = "urn:xmpp:receipts";

const state = {
  cfg: null,
  me: "",
  token: "",
  xmpp: null,
  /** key ("chat:<peer>" | "session:<id>") -> {kind, id, name, messages: Map, unread, loaded} */
  convs: new Map(),
  current: null,
  /** stanza id of a message I sent -> {conv, key, revokes?} */
  pending: new Map(),
  fileUrls: new Map(),
};

const newId = () => crypto.randomUUID().replace(/-/g, "");
const msgKey = (from, id) => `${from}/${id}`;

async function api(path, init = {}) {
  const res = await fetch(`api/${path}`, { ...init, headers: { ...(init.headers ?? {}), ...(state.token ? { authorization: `Bearer ${state.token}` } : {}) } });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error ?? body.result_detail ?? `HTTP ${res.status}`);
  return body;
}

// ---------------------------------------------------------------- conversations

function conv(kind, id, name) {
  const key = `${kind}:${id}`;
  let c = state.convs.get(key);
  if (!c) {
    c = { key, kind, id, name: name ?? id, messages: new Map(), unread: 0, loaded: false };
    state.convs.set(key, c);
    renderConversations();
  } else if (name && c.name !== name) {
    c.name = name;
    renderConversations();
  }
  return c;
}

function renderConversations() {
  const ul = $("conversations");
  ul.replaceChildren();
  for (const c of state.convs.values()) {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    b.dataset.key = c.key;
    b.setAttribute("aria-current", String(c.key === state.current));
    b.append(c.name, " ");
    const kind = document.createElement("span");
    kind.className = "kind";
    kind.textContent = c.kind === "session" ? "(session)" : "(1:1)";
    b.append(kind);
    if (c.unread > 0) {
      const u = document.createElement("span");
      u.className = "unread";
      u.textContent = String(c.unread);
      u.setAttribute("aria-label", `${c.unread} unread`);
      b.append(u);
    }
    b.addEventListener("click", () => openConversation(c.key));
    li.append(b);
    ul.append(li);
  }
}

async function openConversation(key) {
  const c = state.convs.get(key);
  if (!c) return;
  state.current = key;
  c.unread = 0;
  $("chat-title").textContent = c.kind === "session" ? `Session: ${c.name}` : `Chat with ${c.name}`;
  $("compose-form").hidden = false;
  $("chat-error").textContent = "";
  renderConversations();
  if (!c.loaded) {
    c.loaded = true;
    try {
      const h = await api(`history?${c.kind === "session" ? "session" : "peer"}=${encodeURIComponent(c.id)}`);
      for (const m of h.messages) addMessage(c, m, { readers: m.readers, readByMe: m.readByMe, sent: true });
    } catch (err) {
      $("chat-error").textContent = `History: ${err.message}`;
    }
  }
  renderMessages();
  sendReadReceipts(c);
  $("compose-text").focus();
}

// ---------------------------------------------------------------- messages

/** Adds a content message (an envelope) to a conversation, once. */
function addMessage(c, env, extra = {}) {
  const key = msgKey(env.msg_from, env.msg_id);
  if (c.messages.has(key)) return c.messages.get(key);
  const m = { key, env, mine: env.msg_from === state.me, readers: new Set(), readCount: extra.readers ?? 0, readByMe: Boolean(extra.readByMe), sent: Boolean(extra.sent), revoked: false, error: "" };
  c.messages.set(key, m);
  return m;
}

function renderMessages() {
  const c = state.convs.get(state.current);
  const ol = $("messages");
  ol.replaceChildren();
  if (!c) return;
  for (const m of c.messages.values()) ol.append(renderMessage(c, m));
  ol.scrollTop = ol.scrollHeight;
}

function rerender(c) {
  if (c.key === state.current) renderMessages();
  else renderConversations();
}

function renderMessage(c, m) {
  const li = document.createElement("li");
  li.dataset.msgId = m.env.msg_id;
  li.dataset.from = m.env.msg_from;
  li.className = `message${m.mine ? " mine" : ""}${m.revoked ? " revoked" : ""}`;
  const from = document.createElement("span");
  from.className = "from";
  from.textContent = m.mine ? "me" : m.env.msg_from;
  const content = document.createElement("div");
  content.className = "content";
  const item = Array.isArray(m.env.body) ? m.env.body[0] ?? {} : {};
  const kind = m.env.msg_type.slice(4);
  if (m.revoked) content.textContent = m.mine ? "You revoked this message." : "This message was revoked.";
  else if (kind === "001" || kind === "002" || kind === "003") content.append(fileView(item, kind));
  else content.textContent = item.text ?? JSON.stringify(m.env.body);
  li.append(from, content);

  const meta = document.createElement("div");
  meta.className = "meta";
  const time = document.createElement("time");
  const t = Number(m.env.msg_time);
  if (t > 0) {
    time.dateTime = new Date(t).toISOString();
    time.textContent = new Date(t).toLocaleTimeString();
  }
  meta.append(time);
  if (m.mine && !m.revoked) {
    const status = document.createElement("span");
    const n = Math.max(m.readCount, m.readers.size);
    status.className = `status${n > 0 ? " read" : ""}`;
    status.textContent = m.error ? `not sent: ${m.error}` : n > 0 ? (c.kind === "session" ? `read by ${n}` : "read") : m.sent ? "sent" : "sending…";
    meta.append(status);
    if (m.sent) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "revoke";
      b.textContent = "Revoke";
      b.setAttribute("aria-label", `Revoke “${item.text ?? item.fileName ?? "message"}”`);
      b.addEventListener("click", () => revoke(c, m));
      meta.append(b);
    }
  }
  li.append(meta);
  return li;
}

function fileView(item, kind) {
  const wrap = document.createElement("span");
  const name = item.fileName ?? item.fileId;
  wrap.textContent = kind === "001" ? "loading picture…" : name;
  fileUrl(item.fileId)
    .then((f) => {
      if (kind === "001" || f.contentType?.startsWith("image/")) {
        const img = document.createElement("img");
        img.src = f.url;
        img.alt = `picture ${f.fileName}`;
        wrap.replaceChildren(img);
      } else {
        const a = document.createElement("a");
        a.href = f.url;
        a.download = f.fileName;
        a.textContent = `${f.fileName} (${Math.ceil(f.size / 1024)} KiB)`;
        wrap.replaceChildren(a);
      }
    })
    .catch((err) => (wrap.textContent = `${name}: ${err.message}`));
  return wrap;
}

async function fileUrl(fileId) {
  const known = state.fileUrls.get(fileId);
  if (known) return known;
  const f = await api(`file-url?fileId=${encodeURIComponent(fileId)}`);
  state.fileUrls.set(fileId, f);
  return f;
}

// ---------------------------------------------------------------- sending

const component = () => state.cfg.componentDomain;

/** Sends an envelope to the conversation's address; the returned promise settles on tlim's answer. */
function sendEnvelope(c, msgType, body) {
  const env = { msg_id: newId(), msg_type: msgType, msg_from: state.me, msg_to: c.id, msg_time: String(Date.now()), body };
  const { xml } = window.XMPP;
  state.xmpp.send(
    xml("message", { to: `${c.id}@${component()}`, type: "chat", id: env.msg_id }, xml("body", {}, JSON.stringify(env)), xml("request", { xmlns: RECEIPTS })),
  );
  return env;
}

function sendContent(c, kind, item) {
  const prefix = c.kind === "session" ? "MTS" : "MTT";
  const body = [c.kind === "session" ? { ...item, session_id: c.id } : item];
  const env = sendEnvelope(c, `${prefix}-${kind}`, body);
  const m = addMessage(c, env);
  state.pending.set(env.msg_id, { conv: c, key: m.key });
  renderMessages();
}

function sendReadReceipts(c) {
  const unread = [...c.messages.values()].filter((m) => !m.mine && !m.readByMe && !m.revoked);
  if (unread.length === 0 || !state.xmpp) return;
  for (const m of unread) m.readByMe = true;
  const prefix = c.kind === "session" ? "MTS" : "MTT";
  sendEnvelope(c, `${prefix}-100`, unread.map((m) => (c.kind === "session" ? { msg_id: m.env.msg_id, session_id: c.id } : { msg_id: m.env.msg_id })));
}

function revoke(c, m) {
  const prefix = c.kind === "session" ? "MTS" : "MTT";
  const env = sendEnvelope(c, `${prefix}-101`, [c.kind === "session" ? { msg_id: m.env.msg_id, session_id: c.id } : { msg_id: m.env.msg_id }]);
  state.pending.set(env.msg_id, { conv: c, key: m.key, revokes: true });
}

// ---------------------------------------------------------------- receiving

function onStanza(stanza) {
  if (!stanza.is("message")) return;
  const from = stanza.attrs.from ?? "";
  const id = stanza.attrs.id;
  if (stanza.attrs.type === "error") {
    const p = state.pending.get(id);
    if (!p) return;
    state.pending.delete(id);
    const err = stanza.getChild("error");
    const text = err?.getChildText("text") ?? stanza.getChildText("body") ?? "refused";
    const m = p.conv.messages.get(p.key);
    if (p.revokes) $("chat-error").textContent = `Revoke refused: ${text}`;
    else if (m) m.error = text;
    rerender(p.conv);
    return;
  }
  const received = stanza.getChild("received", RECEIPTS);
  if (received && !stanza.getChild("body")) {
    // tlim stored what I sent (docs/protocol.md: the receipt follows the commit).
    const p = state.pending.get(received.attrs.id);
    if (!p) return;
    state.pending.delete(received.attrs.id);
    const m = p.conv.messages.get(p.key);
    if (m && p.revokes) m.revoked = true;
    else if (m) m.sent = true;
    rerender(p.conv);
    return;
  }
  const text = stanza.getChildText("body");
  if (!text || !text.startsWith("{")) return;
  // Confirm the push, so tlim moves this device's cursor (docs/protocol.md "Devices").
  if (stanza.getChild("request", RECEIPTS) && id) {
    const { xml } = window.XMPP;
    state.xmpp.send(xml("message", { to: from, type: "chat" }, xml("received", { xmlns: RECEIPTS, id })));
  }
  let env;
  try {
    env = JSON.parse(text);
  } catch {
    return;
  }
  if (!Array.isArray(env.body)) return;
  const local = from.split("@")[0];
  const session = env.msg_type.startsWith("MTS-");
  if (!session && !env.msg_type.startsWith("MTT-")) return; // business and pass-through types are not shown here
  const c = session
    ? conv("session", env.body[0]?.session_id || env.msg_to || local)
    : conv("chat", env.msg_from === state.me ? env.msg_to : env.msg_from);
  const kind = env.msg_type.slice(4);
  if (kind === "100") {
    // Read receipt: someone read my messages (my own receipts from other devices change nothing).
    if (env.msg_from === state.me) {
      for (const b of env.body) for (const m of c.messages.values()) if (m.env.msg_id === b.msg_id && !m.mine) m.readByMe = true;
      return;
    }
    for (const b of env.body) {
      const m = c.messages.get(msgKey(state.me, b.msg_id));
      if (m) m.readers.add(env.msg_from);
    }
    rerender(c);
  } else if (kind === "101") {
    for (const b of env.body) {
      const author = b.msg_from || env.msg_from;
      for (const m of c.messages.values()) if (m.env.msg_id === b.msg_id && (m.env.msg_from === author || env.msg_from === "admin")) m.revoked = true;
    }
    rerender(c);
  } else if (/^00[0-3]$/.test(kind)) {
    const m = addMessage(c, env, { sent: true });
    if (m.mine) return rerender(c);
    if (c.key === state.current) {
      renderMessages();
      sendReadReceipts(c);
    } else {
      c.unread++;
      renderConversations();
    }
  }
}

// ---------------------------------------------------------------- login and logout

async function login(user, password) {
  const { client } = window.XMPP;
  const session = await api("login", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ user, password }) });
  state.me = session.user;
  state.token = session.token;
  // A "[web]" resource makes this a tlim device of the web class (docs/protocol.md "Devices").
  const xmpp = client({ service: state.cfg.xmppWebsocket, domain: state.cfg.userDomain, resource: `demo-${newId().slice(0, 8)}[web]`, username: state.me, password });
  state.xmpp = xmpp;
  xmpp.on("stanza", onStanza);
  xmpp.on("error", (err) => console.warn("xmpp", err));
  xmpp.on("status", (s) => ($("link-state").textContent = s === "online" ? "(online)" : `(${s})`));
  xmpp.on("online", () => {
    // Presence to the component: tlim sends what this device has not got yet, then live pushes.
    xmpp.send(window.XMPP.xml("presence", { to: component() }));
  });
  await xmpp.start();
  const { conversations } = await api("conversations");
  for (const c of conversations) conv(c.kind, c.id, c.name);
  $("me").textContent = state.me;
  $("login-view").hidden = true;
  $("app-view").hidden = false;
  const first = state.convs.keys().next();
  if (!first.done) await openConversation(first.value);
}

async function logout() {
  await state.xmpp?.stop().catch(() => {});
  location.reload();
}

// ---------------------------------------------------------------- wiring

async function main() {
  state.cfg = await (await fetch("config.json")).json();
  $("login-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    $("login-error").textContent = "";
    const button = e.submitter ?? $("login-form").querySelector("button");
    button.disabled = true;
    try {
      await login($("login-user").value.trim(), $("login-password").value);
    } catch (err) {
      $("login-error").textContent = `Login failed: ${err.message ?? err}`;
      await state.xmpp?.stop().catch(() => {});
      state.xmpp = null;
      state.token = "";
    } finally {
      button.disabled = false;
    }
  });
  $("logout").addEventListener("click", logout);
  $("new-chat-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const peer = $("new-chat-peer").value.trim().toLowerCase();
    if (!peer || peer === state.me) return;
    $("new-chat-peer").value = "";
    void openConversation(conv("chat", peer).key);
  });
  $("compose-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const c = state.convs.get(state.current);
    const text = $("compose-text").value;
    if (!c || text.trim() === "") return;
    $("compose-text").value = "";
    sendContent(c, "000", { text });
  });
  $("compose-file").addEventListener("change", async () => {
    const c = state.convs.get(state.current);
    const file = $("compose-file").files?.[0];
    if (!c || !file) return;
    $("chat-error").textContent = "";
    try {
      const form = new FormData();
      form.append("mFile", file);
      const up = await api("upload", { method: "POST", body: form });
      sendContent(c, file.type.startsWith("image/") ? "001" : "002", { fileId: up.fileId, fileName: file.name });
    } catch (err) {
      $("chat-error").textContent = `Upload failed: ${err.message}`;
    } finally {
      $("compose-file").value = "";
    }
  });
}

main();
