// vkpipe workspace: keyboard review, selection for bulk actions, htmx settings. No build step.
"use strict";

(function () {
  const csrf = () => {
    const body = document.body.getAttribute("hx-headers");
    return body ? JSON.parse(body)["X-CSRF-Token"] : "";
  };

  if (window.htmx) {
    // Error answers carry a status line to swap in (4xx); 5xx stays an error.
    htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "4..", swap: true, error: false },
      { code: "...", swap: false, error: true },
    ];
  }

  const items = () => Array.from(document.querySelectorAll("article.comment"));
  let currentId = null;

  function current() {
    const found = currentId && document.getElementById(currentId);
    return found || null;
  }

  function focusItem(item) {
    if (!item) return;
    currentId = item.id;
    items().forEach((other) => other.classList.toggle("current", other === item));
    item.focus({ preventScroll: true });
    item.scrollIntoView({ block: "nearest" });
  }

  function move(step) {
    const all = items();
    if (!all.length) return;
    const index = all.indexOf(current());
    const next = index < 0 ? 0 : Math.min(all.length - 1, Math.max(0, index + step));
    focusItem(all[next]);
  }

  function review(item, values) {
    if (!item || !window.htmx) return;
    htmx.ajax("POST", document.querySelector("[data-prefix]").dataset.prefix + "/review", {
      source: item,
      swap: "none",
      values: Object.assign({ comment: item.dataset.key }, values),
      headers: { "X-CSRF-Token": csrf() },
    });
  }

  function updateSelection() {
    const boxes = Array.from(document.querySelectorAll("input.select"));
    const count = boxes.filter((box) => box.checked).length;
    const label = document.getElementById("selected-count");
    if (label) label.textContent = count + " selected";
    const all = document.getElementById("select-all");
    if (all) all.checked = boxes.length > 0 && count === boxes.length;
  }

  document.addEventListener("change", (event) => {
    if (event.target.id === "select-all") {
      document.querySelectorAll("input.select").forEach((box) => {
        box.checked = event.target.checked;
      });
    }
    updateSelection();
  });

  document.addEventListener("focusin", (event) => {
    const item = event.target.closest && event.target.closest("article.comment");
    if (item) {
      currentId = item.id;
      items().forEach((other) => other.classList.toggle("current", other === item));
    }
  });

  // After htmx swaps a reviewed comment in, keep the reader where they were.
  document.addEventListener("htmx:oobAfterSwap", () => {
    updateSelection();
    const item = current();
    if (item && (document.activeElement === document.body || !document.activeElement)) focusItem(item);
  });
  document.addEventListener("htmx:afterSettle", () => updateSelection());

  const KEYS = {
    j: () => move(1),
    k: () => move(-1),
    d: (item) => { review(item, { state: "done" }); move(1); },
    i: (item) => { review(item, { state: "irrelevant" }); move(1); },
    p: (item) => review(item, { state: "in_progress" }),
    u: (item) => review(item, { state: "new" }),
    x: (item) => {
      const box = item && item.querySelector("input.select");
      if (box) { box.checked = !box.checked; updateSelection(); }
    },
    t: (item) => {
      const input = item && item.querySelector("input.tag-input");
      if (input) input.focus();
    },
    o: (item) => {
      const link = item && item.querySelector("a[href*='?reply=']");
      if (link) window.open(link.href, "_blank", "noopener");
    },
  };

  document.addEventListener("keydown", (event) => {
    if (!document.querySelector("article.comment")) return;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const tag = event.target.tagName;
    if (event.target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(tag)) {
      if (event.key === "Escape" && event.target.closest("article.comment")) {
        focusItem(event.target.closest("article.comment"));
      }
      return;
    }
    const action = KEYS[event.key];
    if (!action) return;
    event.preventDefault();
    if (!current()) {
      if (event.key === "j" || event.key === "k") move(0); else focusItem(items()[0]);
      if (event.key === "j" || event.key === "k") return;
    }
    action(current());
  });
})();
