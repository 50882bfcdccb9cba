-- Prosody for tlim in Docker (docs/deploy.md "Docker"; the component set-up: docs/servers.md).
-- Prosody 0.12 reads ENV_<NAME> as the environment variable <NAME>; the entrypoint checks that
-- XMPP_DOMAIN, TLIM_DOMAIN and TLIM_XMPP_SECRET are set before Prosody starts.

log = { { levels = { min = ENV_PROSODY_LOG_LEVEL or "info" }, to = "console" } }
pidfile = "/run/prosody/prosody.pid"
data_path = "/var/lib/prosody"

interfaces = { "*" }
c2s_ports = { 5222 }
c2s_direct_tls_ports = { }
s2s_ports = { }
http_ports = { }
https_ports = { }
-- tlim connects from its own container: listen on the compose network, which is not published.
component_ports = { 5347 }
component_interfaces = { "*" }

modules_enabled = {
  "roster"; "saslauth"; "tls"; "disco"; "ping"; "carbons"; "time"; "version"; "uptime";
}
modules_disabled = { "s2s" }

authentication = "internal_hashed"
storage = "internal"
c2s_require_encryption = true
allow_registration = false

VirtualHost (ENV_XMPP_DOMAIN)
  -- self-signed by the entrypoint on first start unless you put your own there
  ssl = {
    certificate = "/etc/prosody/public/" .. ENV_XMPP_DOMAIN .. ".crt";
    key = "/var/lib/prosody/tls/" .. ENV_XMPP_DOMAIN .. ".key";
  }

Component (ENV_TLIM_DOMAIN)
  component_secret = ENV_TLIM_XMPP_SECRET
