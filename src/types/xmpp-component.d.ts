// @xmpp/component 0.13 ships no types, and there is no @types package: these are the parts tlim uses.
declare module "@xmpp/component" {
  import type { Element } from "@xmpp/xml";
  import { EventEmitter } from "node:events";
  export { default as xml } from "@xmpp/xml";
  export interface ComponentOptions {
    service: string;
    domain: string;
    password: string;
  }
  export interface Component extends EventEmitter {
    jid: { toString(): string } | null;
    status: string;
    start(): Promise<unknown>;
    stop(): Promise<void>;
    disconnect(timeout?: number): Promise<void>;
    send(...el: Element[]): Promise<void>;
    write(s: string): Promise<void>;
    iqCaller: { request(el: Element, timeout?: number): Promise<Element> };
    iqCallee: {
      get(ns: string, name: string, h: (ctx: any) => Element | Promise<Element> | boolean): void;
      set(ns: string, name: string, h: (ctx: any) => Element | Promise<Element> | boolean): void;
    };
    reconnect: { stop(): void; start(): void; delay: number; on(ev: string, f: (...a: any[]) => void): void };
    middleware: { use(fn: (ctx: any, next: () => Promise<unknown>) => unknown): void };
  }
  export function component(options: ComponentOptions): Component;
}
