// The parts of xmpp.js 0.14 that src/transports/jim/c2s-login.ts assembles itself and that have
// no types (the others come from @types/xmpp__*): @xmpp/client's client() cannot pass TLS options
// to STARTTLS (its handler calls tls.connect with the domain only), so the password check builds
// its client from the same parts.
declare module "@xmpp/tcp" {
  export default function tcp(deps: { entity: unknown }): void;
}
declare module "@xmpp/tls/lib/Connection.js" {
  /** Direct TLS (xmpps://); what socketParameters() returns is what tls.connect() gets. */
  export default class ConnectionTLS {
    socketParameters(service: string): Record<string, unknown> | undefined;
  }
}
declare module "@xmpp/starttls/starttls.js" {
  /** tls.connect({ socket, ...options }) over the plain socket; resolves once the handshake is done. */
  export function upgrade(socket: unknown, options: Record<string, unknown>): Promise<unknown>;
  export function canUpgrade(socket: unknown): boolean;
}
declare module "@xmpp/sasl-plain" {
  export default function plain(factory: unknown): void;
}
declare module "@xmpp/sasl-scram-sha-1" {
  export default function scramsha1(factory: unknown): void;
}
