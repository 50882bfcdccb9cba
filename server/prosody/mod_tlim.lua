-- mod_tlim: lets the clients written for the original tlim Openfire plugin use tlim unchanged.
--
-- Those clients address users and sessions in the users' domain (`<peer>@D`, `<session_id>@D`,
-- even `undefined@D`) and rely on the server to intercept; tlim is an external component
-- (XEP-0114) that only sees what is addressed to its own domain C. Loaded on the users'
-- VirtualHost, this module (docs/servers.md "The server module: what it does"):
--
--  1. hands every chat message of a local user that carries a tlim envelope (the
--     <tlim xmlns="im.itonglian.com"/> marker, or a JSON body whose msg_type is MTT-/MTS-/MTB-/MTC-)
--     to the component instead of routing it by its `to`: the copy goes to C itself, so tlim routes
--     it by the envelope as the original plugin did, with the original `to` kept in
--     <intercepted xmlns="urn:tlim:route:0" to="…"/>;
--  2. tells the component when a local user's resource becomes available or unavailable
--     (<presence … to="C"><reported xmlns="urn:tlim:route:0"/></presence>), so clients that never
--     address the component get their backlog, and answers the component's question "who is
--     online?" (<iq type="get"><online xmlns="urn:tlim:route:0"/></iq>) after it (re)connects;
--  3. lets messages tlim delivers to such a client appear as the original delivered them: when a
--     stanza from the component carries <address xmlns="urn:tlim:route:0" from="alice@D"/> (a JID of
--     this host), its `from` becomes that JID before delivery. The component cannot send from D
--     itself (XEP-0114: a component may only send from its own domain).
--
-- Configuration (on the users' VirtualHost, or globally):
--   plugin_paths = { "/path/to/tlim/server/prosody" }
--   modules_enabled = { …, "tlim" }
--   tlim_component = "tlim.example.com"   -- default: "tlim." .. the host
local st = require "util.stanza";
local jid = require "util.jid";
local json = require "util.json";

local host = module.host;
local component = module:get_option_string("tlim_component", "tlim." .. host);
local NS_TLIM = "im.itonglian.com";
local NS_ROUTE = "urn:tlim:route:0";

local bare_sessions = prosody.bare_sessions;

-- 1. Interception ---------------------------------------------------------------------------

local function carries_envelope(stanza)
	if stanza:get_child("tlim", NS_TLIM) then return true; end
	local body = stanza:get_child_text("body");
	if not body or not body:match("^%s*{") then return false; end
	local ok, data = pcall(json.decode, body);
	if not ok or type(data) ~= "table" then return false; end
	local msg_type = data.msg_type;
	return type(msg_type) == "string" and msg_type:match("^MT[TSBC]%-") ~= nil;
end

local function intercept(event)
	local origin, stanza = event.origin, event.stanza;
	if origin.type ~= "c2s" or stanza.attr.type ~= "chat" then return; end
	local to = stanza.attr.to;
	if to and jid.host(to) == component then return; end -- already addressed to tlim
	if not carries_envelope(stanza) then return; end
	local copy = st.clone(stanza);
	copy.attr.from = origin.full_jid;
	copy.attr.to = component;
	copy:remove_children("intercepted", NS_ROUTE);
	copy:tag("intercepted", { xmlns = NS_ROUTE, to = to or jid.bare(origin.full_jid) }):up();
	module:log("debug", "handing %s's message for %s to %s", origin.full_jid, to or "(self)", component);
	module:send(copy);
	return true; -- handled: the original is not routed to its `to`
end

module:hook("pre-message/bare", intercept, 10);
module:hook("pre-message/full", intercept, 10);
module:hook("pre-message/host", intercept, 10);

-- 2. Presence --------------------------------------------------------------------------------

local function report(full_jid, available)
	local p = st.presence({ from = full_jid, to = component, type = (not available) and "unavailable" or nil });
	p:tag("reported", { xmlns = NS_ROUTE }):up();
	module:send(p);
end

-- A session is reported available once (its initial presence), and unavailable once: when it
-- sends unavailable presence itself (as Strophe clients do before they close) or when it ends.
-- The unbind hook runs before mod_presence's (priority 100 > 0), which clears session.presence.
local function reported_gone(session)
	if not session.tlim_reported then return; end
	session.tlim_reported = nil;
	report(session.full_jid, false);
end

module:hook("presence/initial", function(event)
	event.origin.tlim_reported = true;
	report(event.origin.full_jid, true);
end);

module:hook("pre-presence/bare", function(event)
	local origin, stanza = event.origin, event.stanza;
	-- A broadcast unavailable (no `to`); directed presence to others is not a change of state.
	if origin.type == "c2s" and stanza.attr.type == "unavailable" and event.to_self then reported_gone(origin); end
end, 100);

module:hook("resource-unbind", function(event)
	reported_gone(event.session);
end, 100);

-- "Who is online?" from the component, after it (re)connects: every available resource of this
-- host, so the component syncs those devices without waiting for their next presence.
module:hook("iq-get/host/" .. NS_ROUTE .. ":online", function(event)
	local origin, stanza = event.origin, event.stanza;
	if jid.host(stanza.attr.from or "") ~= component then
		origin.send(st.error_reply(stanza, "auth", "forbidden", "only the tlim component may ask"));
		return true;
	end
	local reply = st.reply(stanza):tag("online", { xmlns = NS_ROUTE });
	for _, user in pairs(bare_sessions) do
		for _, session in pairs(user.sessions or {}) do
			if session.host == host and session.presence and session.full_jid then
				reply:tag("item", { jid = session.full_jid }):up();
			end
		end
	end
	origin.send(reply);
	return true;
end);

-- 3. Addressing of deliveries -----------------------------------------------------------------

local function readdress(event)
	local stanza = event.stanza;
	local from = stanza.attr.from;
	if not from or jid.host(from) ~= component then return; end
	local address = stanza:get_child("address", NS_ROUTE);
	if not address then return; end
	stanza:remove_children("address", NS_ROUTE);
	local as = address.attr.from;
	-- Only a JID of this very host, as the original plugin delivered (never a foreign domain).
	if as and jid.host(as) == host and jid.prep(as) then stanza.attr.from = as; end
end

module:hook("message/full", readdress, 20);
module:hook("message/bare", readdress, 20);

module:log("info", "tlim: handing tlim envelopes of %s to %s", host, component);
