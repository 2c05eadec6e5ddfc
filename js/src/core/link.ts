/**
 * Front-end links (`aw.link(a, b, on=("hover",))`, attr_widgets/widgets/_link.py): a hover in one view is shown
 * by its linked partners at once, without a message to the kernel. The kernel tells each widget its partners in
 * `linked_views`; both partners of a pair name the same channel. A view announces its selection as a DOM event on
 * `window` (every widget class is its own bundle, so a module-level registry would not be shared); the partners
 * on that channel apply it. A selection applied from a partner is not announced again (no echo between views).
 */
import type { LinkedView } from "./protocol";

export const LINK_EVENT = "aw-linked-selection";

interface LinkMessage {
  channel: string;
  name: string;
  value: unknown;
  sender: object;
}

/** One selection a view shares: its wire name, the store key whose change announces it, read and apply. */
export interface LinkedSelection<K> {
  name: string;
  key: K;
  read(): unknown;
  apply(value: unknown): void;
}

export interface LinkableStore<K> {
  get(key: "linked_views"): LinkedView[] | undefined;
  subscribe(listener: (changed: Set<K>) => void): () => void;
}

function channelsFor(store: { get(key: "linked_views"): LinkedView[] | undefined }, name: string): string[] {
  return (store.get("linked_views") ?? []).filter((p) => p.names.includes(name) && p.channel).map((p) => p.channel);
}

/** Share `selections` of this view with its linked partners; returns the cleanup. */
export function linkSelections<K>(
  store: LinkableStore<K>,
  selections: LinkedSelection<K>[],
  target: EventTarget = window,
): () => void {
  const me = {};
  let applying = false;
  const unsubscribe = store.subscribe((changed) => {
    if (applying) return;
    for (const sel of selections) {
      if (!changed.has(sel.key)) continue;
      const channels = channelsFor(store, sel.name);
      if (channels.length === 0) continue;
      const value = sel.read();
      for (const channel of channels) {
        const detail: LinkMessage = { channel, name: sel.name, value, sender: me };
        target.dispatchEvent(new CustomEvent(LINK_EVENT, { detail }));
      }
    }
  });
  const onMessage = (event: Event) => {
    const msg = (event as CustomEvent<LinkMessage>).detail;
    if (!msg || msg.sender === me) return;
    const sel = selections.find((s) => s.name === msg.name);
    if (!sel || !channelsFor(store, msg.name).includes(msg.channel)) return;
    applying = true;
    try {
      sel.apply(msg.value);
    } finally {
      applying = false;
    }
  };
  target.addEventListener(LINK_EVENT, onMessage);
  return () => {
    unsubscribe();
    target.removeEventListener(LINK_EVENT, onMessage);
  };
}

/** A pixel selection on the wire: {x, y} in input pixels, or null. */
export function asPixel(value: unknown): { x: number; y: number } | null {
  if (value === null || typeof value !== "object") return null;
  const { x, y } = value as { x: unknown; y: unknown };
  return Number.isInteger(x) && Number.isInteger(y) && (x as number) >= 0 && (y as number) >= 0
    ? { x: x as number, y: y as number }
    : null;
}
