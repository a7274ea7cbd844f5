// The admins' Mini App. No framework, no inline code: the page is built with DOM calls and every
// untrusted string (names, authors, sources) goes in as text, never as HTML.
// Long on purpose: the whole app in one file served as is, with no build step (launch data, DOM
// helpers, the API, then one section per page).
"use strict";

(function () {
  const PAGE_SIZE = 60;
  const THUMB_CONCURRENCY = 4;

  // Launch data: Telegram puts it in the URL fragment (#tgWebAppData=…&tgWebAppThemeParams=…).
  function readLaunch() {
    const stored = sessionStorage.getItem("lookalike.launch");
    const fragment = new URLSearchParams(location.hash.slice(1));
    if (fragment.has("tgWebAppData")) {
      const launch = {
        initData: fragment.get("tgWebAppData") || "",
        theme: fragment.get("tgWebAppThemeParams") || "",
      };
      sessionStorage.setItem("lookalike.launch", JSON.stringify(launch));
      return launch;
    }
    const webApp = window.Telegram && window.Telegram.WebApp;
    if (webApp && webApp.initData) {
      return { initData: webApp.initData, theme: JSON.stringify(webApp.themeParams || {}) };
    }
    return stored ? JSON.parse(stored) : { initData: "", theme: "" };
  }

  const launch = readLaunch();
  let language = guessLanguage(launch.initData);
  let texts = window.LOOKALIKE_TEXTS[language];

  function guessLanguage(initData) {
    // Only picks the words shown before the server has checked the data; the server's answer decides.
    try {
      const user = JSON.parse(new URLSearchParams(initData).get("user") || "{}");
      return String(user.language_code || "").toLowerCase().startsWith("ko") ? "ko" : "en";
    } catch (e) {
      return "en";
    }
  }

  function t(key, values) {
    const template = texts[key] || window.LOOKALIKE_TEXTS.en[key] || key;
    return template.replace(/\{(\w+)\}/g, (all, name) => (values && name in values ? String(values[name]) : all));
  }

  // What the server says as a code and its params (the calibration's reason, a build's notes) in the
  // admin's language; `fallback`, the server's English, for a code this page has no words for.
  function coded(prefix, code, values, fallback) {
    const key = prefix + code;
    const known = (set) => Object.prototype.hasOwnProperty.call(set, key);
    return /^\w+$/.test(String(code)) && (known(texts) || known(window.LOOKALIKE_TEXTS.en)) ? t(key, values) : fallback;
  }

  function noteText(note) {
    const values = Object.assign({}, note.params);
    if (Array.isArray(values.reasons)) {
      const fallback = (r) => (r.detail ? r.kind + " (" + r.detail + ")" : r.kind);
      values.reasons = values.reasons.map((r) => t("note_refused_count", { reason: coded("kind_", r.kind, r, fallback(r)), count: r.count })).join(", ");
    }
    if (Array.isArray(values.people)) values.people = values.people.join(", ");
    if (Array.isArray(values.choices)) values.choices = values.choices.map((c) => c.join(" ")).join(", ");
    return coded("note_", note.code, values, note.text);
  }

  // Telegram: theme colours as CSS variables; tell the client the app is ready (without its script).
  function applyTheme(raw) {
    let theme = {};
    try {
      theme = JSON.parse(raw || "{}") || {};
    } catch (e) {
      theme = {};
    }
    const root = document.documentElement;
    for (const [key, value] of Object.entries(theme)) {
      if (/^[a-z_]{1,40}$/.test(key) && /^#[0-9a-fA-F]{3,8}$/.test(String(value))) {
        root.style.setProperty("--tg-" + key.replace(/_/g, "-"), value);
      }
    }
  }

  function postEvent(type, data) {
    const payload = JSON.stringify({ eventType: type, eventData: data || {} });
    try {
      if (window.TelegramWebviewProxy) {
        window.TelegramWebviewProxy.postEvent(type, JSON.stringify(data || {}));
      } else if (window.external && "notify" in window.external) {
        window.external.notify(payload);
      } else if (window.parent !== window) {
        window.parent.postMessage(payload, "https://web.telegram.org");
      }
    } catch (e) {
      // outside Telegram: nothing to tell
    }
  }

  // DOM helpers: h("p", {class: "x"}, "text", child) — strings always become text nodes.
  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  const view = document.getElementById("view");

  function show(...nodes) {
    // The old page's thumbnails are let go; the new page's (made before this call) are watched again.
    thumbs.reset();
    view.replaceChildren(...nodes.flat());
    for (const img of view.querySelectorAll("img[data-thumb]:not(.loaded)")) thumbs.watch(img);
    window.scrollTo(0, 0);
  }

  let toastTimer = 0;
  function toast(message) {
    const box = document.getElementById("toast");
    box.textContent = message;
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => (box.hidden = true), 3500);
  }

  function confirmDialog(message) {
    const dialog = document.getElementById("dialog");
    document.getElementById("dialog-text").textContent = message;
    const yes = document.getElementById("dialog-confirm");
    const no = document.getElementById("dialog-cancel");
    yes.textContent = t("confirm");
    no.textContent = t("cancel");
    dialog.hidden = false;
    return new Promise((resolve) => {
      function done(answer) {
        dialog.hidden = true;
        yes.removeEventListener("click", onYes);
        no.removeEventListener("click", onNo);
        resolve(answer);
      }
      const onYes = () => done(true);
      const onNo = () => done(false);
      yes.addEventListener("click", onYes);
      no.addEventListener("click", onNo);
      yes.focus();
    });
  }

  // The API: every call carries the launch data unchanged.
  class Refused extends Error {
    constructor(code) {
      super(code);
      this.code = code;
    }
  }

  async function api(path, body) {
    const options = { headers: { Authorization: "tma " + launch.initData }, cache: "no-store" };
    if (body !== undefined) {
      options.method = "POST";
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, options);
    } catch (e) {
      throw new Error(t("error_network"));
    }
    if (response.status === 403) {
      const answer = await response.json().catch(() => ({}));
      forbidden(answer.error || "not_admin");
      throw new Refused(answer.error || "not_admin");
    }
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      const key = "error_" + answer.error;
      const message = texts[key] ? t(key, { message: answer.message || "" }) : t("error", { message: answer.message || response.status });
      throw new Error(message);
    }
    return answer;
  }

  function failed(error) {
    if (!(error instanceof Refused)) toast(error.message);
  }

  // Thumbnails: an <img> cannot send the header, so each is fetched and shown from a blob: URL,
  // a few at a time, when it scrolls into view.
  const thumbs = {
    urls: [],
    queue: [],
    running: 0,
    observer: new IntersectionObserver((entries) => {
      for (const entry of entries) {
        if (entry.isIntersecting) {
          thumbs.observer.unobserve(entry.target);
          thumbs.queue.push(entry.target);
          thumbs.pump();
        }
      }
    }, { rootMargin: "300px" }),
    watch(img) {
      this.observer.observe(img);
    },
    pump() {
      while (this.running < THUMB_CONCURRENCY && this.queue.length) {
        const img = this.queue.shift();
        if (!img.isConnected) continue;
        this.running += 1;
        this.load(img).finally(() => {
          this.running -= 1;
          this.pump();
        });
      }
    },
    async load(img) {
      try {
        const response = await fetch("api/photo/" + img.dataset.thumb + "/thumbnail", {
          headers: { Authorization: "tma " + launch.initData },
        });
        if (!response.ok) return;
        const url = URL.createObjectURL(await response.blob());
        this.urls.push(url);
        img.src = url;
        img.alt = img.dataset.alt || "";
        img.classList.add("loaded");
      } catch (e) {
        // a missing thumbnail leaves the placeholder
      }
    },
    reset() {
      this.observer.disconnect();
      this.queue = [];
      for (const url of this.urls) URL.revokeObjectURL(url);
      this.urls = [];
    },
  };

  function thumbnail(photoId, alt) {
    // No alt text until the picture is there: an <img> without src would show a broken-image icon.
    const img = h("img", { class: "thumb", "data-thumb": photoId, "data-alt": alt, width: 150, height: 150 });
    thumbs.watch(img);
    return img;
  }

  function photosLabel(n) {
    return n === 1 ? t("photo_count_one") : t("photos_count", { n: n });
  }

  // Pages

  const pages = { gallery: galleryPage, audit: auditPage, status: statusPage };
  let current = "gallery";

  function go(page) {
    current = page;
    for (const tab of document.querySelectorAll("#tabs button")) {
      tab.setAttribute("aria-selected", tab.dataset.page === page ? "true" : "false");
    }
    pages[page]().catch(failed);
  }

  const gallery = { query: "", offset: 0 };

  async function galleryPage() {
    const search = h("input", {
      type: "search",
      class: "search",
      "data-testid": "search",
      placeholder: t("search"),
      "aria-label": t("search"),
      autocomplete: "off",
      value: gallery.query,
    });
    const summary = h("p", { class: "hint", "data-testid": "gallery-summary" }, t("loading"));
    const grid = h("div", { class: "grid", "data-testid": "gallery" });
    const more = h("button", { type: "button", class: "more", hidden: true }, t("more"));
    show(h("div", { class: "sticky" }, search, summary), grid, more);
    let generation = 0;
    let loading = false;
    let offset = 0;
    let total = 0;

    async function load(reset) {
      if (loading && !reset) return;
      const mine = reset ? ++generation : generation;
      loading = true;
      if (reset) offset = 0;
      const query = search.value.trim();
      const params = new URLSearchParams({ q: query, offset: String(offset), limit: String(PAGE_SIZE) });
      try {
        const page = await api("api/celebrities?" + params);
        if (mine !== generation) return;
        if (reset) grid.replaceChildren();
        total = page.total;
        offset = page.offset + page.items.length;
        grid.append(...page.items.map(card));
        summary.textContent = total ? t("celebrities_count", { n: total }) : query ? t("no_match", { q: query }) : t("empty_gallery");
        more.hidden = offset >= total;
        gallery.query = query;
      } finally {
        if (mine === generation) loading = false;
      }
    }

    let debounce = 0;
    search.addEventListener("input", () => {
      clearTimeout(debounce);
      debounce = setTimeout(() => load(true).catch(failed), 200);
    });
    more.addEventListener("click", () => load(false).catch(failed));
    // Paged: the next page loads when the end of the list comes into view.
    const endObserver = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting) && !more.hidden) load(false).catch(failed);
    });
    endObserver.observe(more);
    await load(true);
  }

  function card(item) {
    const open = () => celebrityPage(item.name).catch(failed);
    return h(
      "button",
      { type: "button", class: "card", "data-testid": "celebrity", "data-name": item.name, onclick: open },
      thumbnail(item.cover_photo_id, item.name),
      h("span", { class: "name" }, item.name),
      h("span", { class: "hint" }, photosLabel(item.photos)),
      item.aliases.length ? h("span", { class: "aliases" }, item.aliases.join(" · ")) : null
    );
  }

  async function celebrityPage(name) {
    const data = await api("api/celebrity?" + new URLSearchParams({ name: name }));
    const back = h("button", { type: "button", class: "link", "data-testid": "back", onclick: () => go("gallery") }, t("back"));
    const title = h("h1", { "data-testid": "celebrity-name" }, data.name);

    const newName = h("input", { type: "text", value: data.name, "aria-label": t("new_name"), "data-testid": "rename-input", maxlength: 64 });
    const rename = h("form", { class: "row", "data-testid": "rename-form" }, newName, h("button", { type: "submit", "data-testid": "rename" }, t("rename")));
    rename.addEventListener("submit", (event) => {
      event.preventDefault();
      api("api/celebrity/rename", { name: data.name, new_name: newName.value })
        .then((answer) => {
          toast(t("renamed", { name: answer.name }));
          return celebrityPage(answer.name);
        })
        .catch(failed);
    });

    const chips = data.aliases.length
      ? data.aliases.map((alias) =>
          h(
            "span",
            { class: "chip", "data-testid": "alias", "data-alias": alias },
            alias,
            h("button", {
              type: "button",
              class: "chip-x",
              "aria-label": t("remove_alias", { alias: alias }),
              "data-testid": "remove-alias",
              onclick: () => api("api/celebrity/aliases/remove", { name: data.name, alias: alias }).then(() => celebrityPage(data.name)).catch(failed),
            }, "×")
          )
        )
      : [h("span", { class: "hint" }, t("no_aliases"))];
    const aliasInput = h("input", { type: "text", placeholder: t("alias_placeholder"), "aria-label": t("alias_placeholder"), "data-testid": "alias-input", maxlength: 64 });
    const aliasForm = h("form", { class: "row" }, aliasInput, h("button", { type: "submit", "data-testid": "add-alias" }, t("add_alias")));
    aliasForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const wanted = aliasInput.value.split(/[,;]/).map((a) => a.trim()).filter(Boolean);
      if (!wanted.length) return;
      api("api/celebrity/aliases/add", { name: data.name, aliases: wanted })
        .then((answer) => {
          const notes = [];
          if (answer.added.length) notes.push(t("aliases_added", { list: answer.added.join(", ") }));
          for (const r of answer.refused) notes.push(t("alias_refused", { alias: r.alias, reason: r.reason }));
          if (notes.length) toast(notes.join(" "));
          return celebrityPage(data.name);
        })
        .catch(failed);
    });

    const photos = h("div", { class: "grid photos" }, data.photos.map((p) => photoCard(data, p)));
    const removeAll = h("button", {
      type: "button",
      class: "danger wide",
      "data-testid": "remove-celebrity",
      onclick: async () => {
        if (!(await confirmDialog(t("remove_celebrity_confirm", { name: data.name, n: data.photos.length })))) return;
        api("api/celebrity/remove", { name: data.name })
          .then(() => {
            toast(t("removed_celebrity", { name: data.name }));
            go("gallery");
          })
          .catch(failed);
      },
    }, t("remove_celebrity", { name: data.name }));

    show(
      back,
      title,
      h("section", { class: "panel" }, rename),
      h("section", { class: "panel" }, h("h2", {}, t("aliases")), h("div", { class: "chips", "data-testid": "aliases" }, chips), aliasForm),
      h("h2", {}, t("photos"), " ", h("span", { class: "hint" }, photosLabel(data.photos.length))),
      photos,
      removeAll
    );
  }

  function safeLink(url, label) {
    // Only web addresses become links: no javascript: or data: from untrusted credits.
    return /^https?:\/\//i.test(url || "") ? h("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, label) : h("span", {}, label);
  }

  function credit(photo) {
    const parts = [];
    if (photo.author || photo.license || photo.source_page) {
      parts.push(h("span", { class: "author" }, photo.author || t("unknown_author")));
      if (photo.license) parts.push(" · ", safeLink(photo.license_url, photo.license));
      if (photo.source_page) parts.push(" · ", safeLink(photo.source_page, t("source")));
    } else {
      parts.push(h("span", { class: "hint" }, t("no_credit")));
    }
    const lines = [h("span", { class: "credit", "data-testid": "credit" }, parts)];
    if (photo.source) lines.push(h("span", { class: "source hint", title: photo.source }, photo.source));
    if (photo.kept) lines.push(h("span", { class: "hint" }, t("kept")));
    return lines;
  }

  function photoCard(celebrity, photo) {
    const remove = async () => {
      const last = celebrity.photos.length === 1;
      const question = last ? t("remove_last_photo_confirm", { name: celebrity.name }) : t("remove_photo_confirm", { name: celebrity.name });
      if (!(await confirmDialog(question))) return;
      try {
        const answer = await api("api/photo/remove", { photo_id: photo.id });
        toast(t("removed_photo"));
        if (answer.celebrity_left) await celebrityPage(celebrity.name);
        else go("gallery");
      } catch (error) {
        failed(error);
      }
    };
    return h(
      "figure",
      { class: "photo", "data-testid": "photo", "data-photo-id": photo.id },
      thumbnail(photo.id, celebrity.name),
      h("figcaption", {}, credit(photo), h("button", { type: "button", class: "danger", "data-testid": "remove-photo", onclick: remove }, t("remove_photo")))
    );
  }

  async function auditPage() {
    show(h("h1", {}, t("audit_title")), h("p", { class: "hint" }, t("loading")));
    const data = await api("api/audit");
    if (!data.available) {
      show(h("h1", {}, t("audit_title")), h("p", { class: "panel unavailable", "data-testid": "audit-unavailable" }, t("audit_unavailable")));
      return;
    }
    const items = data.suspects.map(auditItem);
    show(h("h1", {}, t("audit_title")), items.length ? items : h("p", { class: "hint" }, t("audit_empty")));
  }

  function auditItem(suspect) {
    const twoNames = suspect.kind === "two_names";
    const title = twoNames
      ? t("audit_two_names", { name: suspect.name, other: suspect.other_name })
      : suspect.other_name
      ? t("audit_wrong_photo_other", { name: suspect.name, other: suspect.other_name })
      : t("audit_wrong_photo", { name: suspect.name });
    // Each name's photos in a strip: the suspect photo first (outlined), then the celebrity's others.
    const strips = [photoStrip(suspect.name, suspect.photo_id, !twoNames)];
    if (suspect.other_name) strips.push(photoStrip(suspect.other_name, suspect.other_photo_id, false));
    const item = h("section", { class: "panel audit", "data-testid": "audit-item", "data-kind": suspect.kind, "data-photo-id": suspect.photo_id });
    const keep = h("button", {
      type: "button",
      "data-testid": "audit-keep",
      onclick: () => api("api/audit/keep", { suspect: suspect }).then(() => { toast(t(twoNames ? "audit_distinct_done" : "audit_kept")); item.remove(); }).catch(failed),
    }, t(twoNames ? "audit_distinct" : "audit_keep"));
    const remove = twoNames
      ? null
      : h("button", {
          type: "button",
          class: "danger",
          "data-testid": "remove-photo",
          onclick: async () => {
            if (!(await confirmDialog(t("remove_photo_confirm", { name: suspect.name })))) return;
            api("api/photo/remove", { photo_id: suspect.photo_id }).then(() => { toast(t("removed_photo")); item.remove(); }).catch(failed);
          },
        }, t("audit_remove"));
    item.append(
      h("h2", {}, title),
      h("p", { class: "hint" }, t("audit_distance", { d: Number(suspect.distance).toFixed(3) }), " · ", t(twoNames ? "audit_two_names_hint" : "audit_wrong_photo_hint")),
      ...strips,
      h("div", { class: "row" }, keep, remove)
    );
    return item;
  }

  function photoStrip(name, firstId, outlined) {
    const first = firstId ? thumbnail(firstId, name) : null;
    if (first && outlined) first.classList.add("suspect");
    const strip = h("div", { class: "strip", "data-testid": "audit-strip", "data-name": name }, first);
    api("api/celebrity?" + new URLSearchParams({ name: name }))
      .then((data) => strip.append(...data.photos.filter((p) => p.id !== firstId).slice(0, 8).map((p) => thumbnail(p.id, data.name))))
      .catch(failed);
    return h("div", { class: "named-strip" }, h("button", { type: "button", class: "link", onclick: () => celebrityPage(name).catch(failed) }, name), strip);
  }

  async function statusPage() {
    const data = await api("api/status");
    const answered = data.answers_per_hour.reduce((sum, h) => sum + h.answers, 0);
    const chart = h("canvas", { class: "chart", width: 400, height: 140, "data-testid": "answers-chart", role: "img", "aria-label": t("status_answers") });
    let live = liveFacts(data);
    // While a build runs, each poll also refreshes the gallery's size, the queue and the workers.
    const refresh = (fresh) => {
      const next = liveFacts(fresh);
      live.forEach((node, i) => node.replaceWith(next[i]));
      live = next;
    };
    show(
      h("h1", {}, t("status_title")),
      live,
      h("section", { class: "panel" }, h("h2", {}, t("status_answers")), chart, h("p", { class: "hint" }, t("status_answers_total", { n: answered }))),
      calibrationSlot(data.calibration),
      wikidataSlot(data.wikidata, refresh)
    );
    drawBars(chart, data.answers_per_hour.map((x) => x.answers));
  }

  function liveFacts(data) {
    return [
      fact(t("status_gallery"), t("status_gallery_value", { c: data.celebrities, p: data.photos }), "status-gallery"),
      fact(t("status_queue"), t("status_queue_value", { n: data.queue.in_flight, limit: data.queue.limit }), "status-queue"),
      workersSlot(data),
    ];
  }

  function fact(label, value, testid, unavailable) {
    return h("section", { class: "panel" + (unavailable ? " unavailable" : ""), "data-testid": testid }, h("h2", {}, label), h("p", {}, value));
  }

  function workersSlot(data) {
    // The worker source's rows (today the bot's own pool; a cluster's workers when there is one).
    const rows = data.cluster.available
      ? data.cluster.workers
      : [{ address: "local " + data.pool.kind + " pool", in_work: null, slots: data.pool.workers }];
    const list = h("ul", { class: "workers" }, rows.map((w) =>
      h("li", { "data-testid": "worker" },
        h("span", { class: "address" }, /^local \w+ pool$/.test(w.address) ? t("status_local_pool", { kind: w.address.split(" ")[1] }) : w.address),
        " ",
        h("span", { class: "hint" }, t(w.slots === 1 ? "status_worker_value_one" : "status_worker_value", { slots: w.slots, n: w.in_work === null ? "?" : w.in_work })))
    ));
    const none = rows.length ? null : h("p", { class: "hint" }, t("status_no_workers"));
    return h("section", { class: "panel", "data-testid": "status-workers" }, h("h2", {}, t("status_workers")), none || list);
  }

  function calibrationSlot(calibration) {
    if (!calibration.available) return fact(t("status_calibration"), t("status_calibration_unavailable"), "status-calibration", true);
    if (!calibration.plot) return fact(t("status_calibration"), t("status_calibration_none"), "status-calibration");
    const plot = calibration.plot;
    const canvas = h("canvas", { class: "chart", width: 400, height: 200, "data-testid": "calibration-plot", role: "img", "aria-label": t("status_calibration") });
    const reason = coded("calibration_", plot.note_code, plot.note_params, plot.note);
    const note = plot.fitted
      ? t("status_calibration_fitted", { boundary: Number(plot.boundary).toFixed(3), note: reason, same: plot.same.length, other: plot.different.length })
      : t("status_calibration_fixed", { note: reason });
    const panel = h("section", { class: "panel", "data-testid": "status-calibration", "data-fitted": plot.fitted ? "true" : "false" }, h("h2", {}, t("status_calibration")), canvas,
      h("p", { class: "hint legend" }, h("span", { class: "key curve" }, t("status_plot_curve")), h("span", { class: "key same" }, t("status_plot_same")), h("span", { class: "key different" }, t("status_plot_different"))),
      h("p", { class: "hint", "data-testid": "calibration-note" }, note));
    requestAnimationFrame(() => drawCalibration(canvas, plot));
    return panel;
  }

  function wikidataSlot(wikidata, refresh) {
    if (!wikidata.available) return fact(t("status_wikidata"), t("status_wikidata_unavailable"), "status-wikidata", true);
    const items = h("textarea", { rows: 3, "data-testid": "wikidata-items", "aria-label": t("status_wikidata_items"), placeholder: t("status_wikidata_items"), maxlength: 4000 });
    const start = h("button", { type: "submit", "data-testid": "wikidata-start" }, t("status_wikidata_start"));
    const form = h("form", { class: "stack" }, items, start);
    const progress = h("div", { "data-testid": "wikidata-progress" });
    const panel = h("section", { class: "panel", "data-testid": "status-wikidata" }, h("h2", {}, t("status_wikidata")), h("p", { class: "hint" }, t("status_wikidata_hint")), form, progress);
    let polling = 0;

    function render(p) {
      start.disabled = Boolean(p && p.state === "running");
      if (!p) {
        progress.replaceChildren();
        return;
      }
      panel.dataset.state = p.state;
      const line = t("status_wikidata_" + p.state, { done: p.done, total: p.total, added: p.added, updated: p.updated, photos: p.photos, detail: p.detail });
      progress.replaceChildren(
        ...[
          h("p", { "data-testid": "wikidata-line" }, line),
          p.state === "running" ? h("progress", { max: Math.max(1, p.total), value: p.done }) : null,
          p.notes.length ? h("ul", { class: "notes hint" }, p.notes.map((n) => h("li", { "data-code": n.code }, noteText(n)))) : null,
        ].filter(Boolean)
      );
      // Live progress: asked again every 2 s while the build runs and this page is shown.
      clearTimeout(polling);
      if (p.state === "running") {
        polling = setTimeout(() => {
          if (current !== "status" || !panel.isConnected) return;
          api("api/status")
            .then((data) => {
              refresh(data);
              render(data.wikidata.progress);
            })
            .catch(failed);
        }, 2000);
      }
    }

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      api("api/wikidata/build", { items: items.value })
        .then((answer) => {
          toast(t(answer.started ? "status_wikidata_started" : "status_wikidata_busy"));
          return api("api/status");
        })
        .then((data) => render(data.wikidata.progress))
        .catch(failed);
    });
    render(wikidata.progress);
    return panel;
  }

  function colour(name, fallback) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
  }

  function drawBars(canvas, values) {
    // One bar per hour, oldest on the left; the largest count on top, the time axis below.
    const ctx = canvas.getContext("2d");
    const { width, height } = canvas;
    const axis = 18;
    const top = Math.max(1, ...values);
    const slot = width / values.length;
    ctx.clearRect(0, 0, width, height);
    ctx.fillStyle = colour("--tg-button-color", "#2481cc");
    values.forEach((v, i) => {
      const bar = Math.round((v / top) * (height - axis - 16));
      ctx.fillRect(i * slot + 2, height - axis - bar, slot - 4, bar || 1);
    });
    ctx.fillStyle = colour("--tg-hint-color", "#999");
    ctx.font = "12px sans-serif";
    ctx.fillText(String(top), 4, 12);
    ctx.fillText("−24h", 4, height - 4);
    ctx.textAlign = "right";
    ctx.fillText(t("now"), width - 4, height - 4);
  }

  function drawCalibration(canvas, plot) {
    // Distances 0..1.2 across, similarity 0..100 % up; below the curve, how the gallery's own distances
    // fall: same-person pairs (green) and each sampled photo's nearest other celebrity (red).
    const ctx = canvas.getContext("2d");
    const { width, height } = canvas;
    const left = 30, bottom = 18, top = 8;
    const plotW = width - left - 6, plotH = height - bottom - top;
    const x = (d) => left + (d / 1.2) * plotW;
    const y = (s) => top + plotH - (s / 100) * plotH;
    ctx.clearRect(0, 0, width, height);
    const bins = 48;
    const histogram = (values, style) => {
      const counts = new Array(bins).fill(0);
      for (const d of values) counts[Math.min(bins - 1, Math.max(0, Math.floor((d / 1.2) * bins)))] += 1;
      const most = Math.max(1, ...counts);
      ctx.fillStyle = style;
      counts.forEach((n, i) => {
        const tall = (n / most) * plotH * 0.6;
        ctx.fillRect(left + (i * plotW) / bins, top + plotH - tall, plotW / bins - 1, tall);
      });
    };
    histogram(plot.same, "rgba(46, 160, 67, 0.5)");
    histogram(plot.different, "rgba(207, 34, 46, 0.4)");
    const hint = colour("--tg-hint-color", "#999");
    ctx.strokeStyle = hint;
    ctx.fillStyle = hint;
    ctx.lineWidth = 1;
    ctx.font = "11px sans-serif";
    ctx.beginPath();
    ctx.moveTo(left, top);
    ctx.lineTo(left, top + plotH);
    ctx.lineTo(left + plotW, top + plotH);
    ctx.stroke();
    ctx.textAlign = "center";
    for (let d = 0; d <= 1.2001; d += 0.2) ctx.fillText(d.toFixed(1), x(d), height - 4);
    ctx.textAlign = "right";
    for (const s of [0, 50, 100]) ctx.fillText(s + "%", left - 3, y(s) + 4);
    if (plot.boundary !== null && plot.boundary !== undefined) {
      ctx.setLineDash([4, 3]);
      ctx.beginPath();
      ctx.moveTo(x(plot.boundary), top);
      ctx.lineTo(x(plot.boundary), top + plotH);
      ctx.stroke();
      ctx.setLineDash([]);
    }
    ctx.strokeStyle = colour("--tg-button-color", "#2481cc");
    ctx.lineWidth = 2;
    ctx.beginPath();
    plot.curve.forEach(([d, s], i) => (i ? ctx.lineTo(x(d), y(s)) : ctx.moveTo(x(d), y(s))));
    ctx.stroke();
  }

  function forbidden(code) {
    document.getElementById("top").hidden = true;
    const reason = texts["forbidden_" + code] ? t("forbidden_" + code) : t("forbidden_not_admin");
    show(h("section", { class: "forbidden", "data-testid": "forbidden", "data-reason": code }, h("h1", {}, t("forbidden_title")), h("p", {}, reason)));
  }

  async function start() {
    applyTheme(launch.theme);
    postEvent("web_app_ready");
    postEvent("web_app_expand");
    document.documentElement.lang = language;
    if (!launch.initData) {
      forbidden("missing");
      return;
    }
    let me;
    try {
      me = await api("api/me");
    } catch (error) {
      if (!(error instanceof Refused)) show(h("p", { class: "panel" }, error.message));
      return;
    }
    language = me.language;
    texts = window.LOOKALIKE_TEXTS[language];
    document.documentElement.lang = language;
    for (const tab of document.querySelectorAll("#tabs button")) {
      tab.textContent = t("tab_" + tab.dataset.page);
      tab.addEventListener("click", () => go(tab.dataset.page));
    }
    document.getElementById("top").hidden = false;
    go("gallery");
  }

  start();
})();
