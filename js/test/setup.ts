// jsdom has no canvas backend: getContext would log "not implemented" and return undefined. Make it return null
// (what the views handle); real canvas drawing is checked in Chromium by tests/browser.
HTMLCanvasElement.prototype.getContext = (() => null) as typeof HTMLCanvasElement.prototype.getContext;
