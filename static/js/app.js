/*
 * The back office's only script (no inline scripts, so a strict CSP holds).
 * Everything here is progressive: without it, every page works with links and
 * plain form posts. See docs/frontend.md, "Back office".
 *
 * - Modals: an action's <dialog> is loaded by htmx into #modal; it is opened
 *   with showModal() once htmx has settled it, and removed again when closed.
 * - closeModal: the HX-Trigger event of a successful action closes it.
 * - showMessage: an HX-Trigger event {"showMessage": {"text", "level"}} shows a toast.
 * - Data events (invoice-changed, customer-changed) need no code here: each
 *   region listens with hx-trigger="invoice-changed from:body" and refetches itself.
 * - Scrolling cards: a card whose table overflows sideways gets a Tab stop.
 * - Focus after a modal: back to the button that opened it, found again by its
 *   URL once its region was fetched anew; if the action removed the button, to
 *   that region. Never left on <body>.
 */
(function () {
  "use strict";

  function modalContainer() {
    return document.getElementById("modal");
  }

  function openDialog(container) {
    var dialog = container.querySelector("dialog");
    if (dialog && !dialog.open) {
      dialog.showModal();
      var first = dialog.querySelector("[autofocus], input:not([type=hidden]), select, textarea, button");
      if (first) first.focus();
    }
  }

  // The button that opened the modal: {element, url, region id}. Kept a few
  // seconds after the modal closes, while the regions the action changed are
  // swapped in (which replaces the button with a new one).
  var opener = null;
  var FOCUS_WINDOW_MS = 5000;

  function rememberOpener(element) {
    var region = element.closest("[id]:not(#modal)");
    opener = {
      element: element,
      url: element.getAttribute("hx-get"),
      region: region ? region.id : null,
      until: null,
    };
  }

  function returnFocus() {
    if (!opener) return;
    if (opener.until !== null && Date.now() > opener.until) {
      opener = null;
      return;
    }
    var active = document.activeElement;
    if (active && active !== document.body && active.isConnected) return;
    var target = opener.element.isConnected ? opener.element : null;
    if (!target && opener.url) {
      target = document.querySelector('[hx-get="' + CSS.escape(opener.url) + '"]');
    }
    if (!target && opener.region) {
      target = document.getElementById(opener.region);
      if (target && !target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
    }
    if (target) target.focus();
  }

  function closeModal() {
    var container = modalContainer();
    var dialog = container && container.querySelector("dialog");
    // The dialog's "close" event (queued, so after the other events of the
    // same response have bubbled from the form) empties the container.
    if (dialog && dialog.open) dialog.close();
    else if (container) container.replaceChildren();
  }

  function showMessage(text, level) {
    var toasts = document.getElementById("toasts");
    if (!toasts || !text) return;
    var toast = document.createElement("div");
    toast.className = "toast toast--" + (level || "info");
    toast.setAttribute("role", level === "error" ? "alert" : "status");
    toast.textContent = text;
    toasts.appendChild(toast);
    setTimeout(function () { toast.remove(); }, level === "error" ? 8000 : 4000);
  }

  // Open after the settle, not the swap: htmx attaches the new content's own
  // triggers (the amount field's live preview) when it settles, and a person (or a
  // test) typing into a dialog shown before that would go unheard.
  document.addEventListener("htmx:afterSettle", function (event) {
    var container = modalContainer();
    if (container && event.detail.target === container) openDialog(container);
  });

  document.addEventListener("close", function (event) {
    var container = modalContainer();
    if (container && event.target.tagName === "DIALOG" && container.contains(event.target)) {
      container.replaceChildren();
      if (opener) {
        opener.until = Date.now() + FOCUS_WINDOW_MS;
        returnFocus();
      }
    }
  }, true);  // "close" does not bubble: listen in the capture phase.

  // A modal's opener: a link or button aimed at #modal.
  document.addEventListener("click", function (event) {
    var element = event.target.closest('[hx-target="#modal"]');
    if (element) rememberOpener(element);
  }, true);

  // A region swapped in after the modal closed may have replaced the opener,
  // and the focus with it: put it back.
  document.addEventListener("htmx:afterSettle", function (event) {
    var container = modalContainer();
    if (opener && opener.until !== null && event.detail.target !== container) returnFocus();
  });

  document.addEventListener("closeModal", closeModal);

  document.addEventListener("showMessage", function (event) {
    var detail = event.detail || {};
    showMessage(detail.text || detail.value, detail.level);
  });

  // A "Cancel" link in a modal (href back to the page, for no-JS) just closes it.
  document.addEventListener("click", function (event) {
    var closer = event.target.closest("[data-close-modal]");
    if (closer && modalContainer() && modalContainer().contains(closer)) {
      event.preventDefault();
      closeModal();
    }
  });

  // Refusals htmx does not swap (403, 5xx, a lost connection) still say something.
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var type = xhr.getResponseHeader("Content-Type") || "";
    var text = type.indexOf("text/plain") === 0 && xhr.responseText
      ? xhr.responseText
      : "That did not work (" + xhr.status + "). Reload the page and try again.";
    showMessage(text, "error");
  });

  document.addEventListener("htmx:sendError", function () {
    showMessage("The server could not be reached. Check the connection and try again.", "error");
  });

  // A card that scrolls sideways (a wide table in a narrow column) must be
  // scrollable from the keyboard (WCAG 2.1.1, axe's scrollable-region-focusable).
  // Arrow keys scroll the box holding the focused element, so only a box that
  // overflows now and holds nothing focusable gets a Tab stop of its own.
  var SCROLLERS = ".card--flush, .card--scroll";
  var FOCUSABLE = "a[href], button, input, select, textarea, [tabindex]:not([tabindex='-1'])";

  function markScrollers() {
    document.querySelectorAll(SCROLLERS).forEach(function (box) {
      var needsStop = box.scrollWidth > box.clientWidth && !box.querySelector(FOCUSABLE);
      if (needsStop) {
        box.setAttribute("tabindex", "0");
        box.dataset.scrollStop = "";
      } else if ("scrollStop" in box.dataset) {
        box.removeAttribute("tabindex");
        delete box.dataset.scrollStop;
      }
    });
  }

  var marking = false;
  function markScrollersSoon() {
    if (marking) return;
    marking = true;
    requestAnimationFrame(function () {
      marking = false;
      markScrollers();
    });
  }

  // A region htmx swaps in arrives without its mark; the window's width moves
  // the overflow. Marked at "load" too, so the page's first state is right
  // before anyone (or axe in the browser tests) looks at it.
  window.addEventListener("load", markScrollers);
  window.addEventListener("resize", markScrollersSoon);
  document.addEventListener("htmx:afterSettle", markScrollersSoon);
})();
