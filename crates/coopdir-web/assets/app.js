// coopdir's only script: skill autocomplete on inputs marked data-skill-autocomplete,
// and inline validation of forms marked data-validate. Every task works without it.
(function () {
  "use strict";
  var lang = document.documentElement.lang || "en";

  function autocomplete(input) {
    var box = document.createElement("div");
    box.className = "autocomplete";
    input.parentNode.insertBefore(box, input);
    box.appendChild(input);
    var list = document.createElement("ul");
    list.setAttribute("role", "listbox");
    list.id = input.id + "-options";
    list.hidden = true;
    box.appendChild(list);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", list.id);
    var active = -1, timer = null, last = "";

    function close() {
      list.hidden = true; list.innerHTML = ""; active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }
    function choose(li) {
      input.value = li.getAttribute("data-label");
      close();
      input.dispatchEvent(new Event("change", { bubbles: true }));
    }
    function highlight(i) {
      var items = list.querySelectorAll("li");
      if (!items.length) return;
      active = (i + items.length) % items.length;
      items.forEach(function (li, j) { li.setAttribute("aria-selected", j === active ? "true" : "false"); });
      input.setAttribute("aria-activedescendant", items[active].id);
    }
    function show(items) {
      list.innerHTML = "";
      items.forEach(function (item, i) {
        var li = document.createElement("li");
        li.id = list.id + "-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("data-label", item.label);
        li.textContent = item.label;
        if (item.broader && item.broader.length) {
          var b = document.createElement("span");
          b.className = "broader";
          b.textContent = " · " + item.broader.map(function (x) { return x.label; }).join(" › ");
          li.appendChild(b);
        }
        li.addEventListener("mousedown", function (e) { e.preventDefault(); choose(li); });
        list.appendChild(li);
      });
      list.hidden = items.length === 0;
      input.setAttribute("aria-expanded", items.length ? "true" : "false");
    }
    input.addEventListener("input", function () {
      var q = input.value.trim();
      clearTimeout(timer);
      if (q.length < 2) { close(); return; }
      timer = setTimeout(function () {
        if (q === last) return;
        last = q;
        fetch("/search/skills?limit=8&lang=" + encodeURIComponent(lang) + "&q=" + encodeURIComponent(q),
              { headers: { Accept: "application/ld+json" }, credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.json() : { items: [] }; })
          .then(function (body) { if (input.value.trim() === q) show(body.items || []); })
          .catch(function () { close(); });
      }, 150);
    });
    input.addEventListener("keydown", function (e) {
      if (list.hidden) return;
      if (e.key === "ArrowDown") { e.preventDefault(); highlight(active + 1); }
      else if (e.key === "ArrowUp") { e.preventDefault(); highlight(active - 1); }
      else if (e.key === "Enter" && active >= 0) { e.preventDefault(); choose(list.querySelectorAll("li")[active]); }
      else if (e.key === "Escape") { close(); }
    });
    input.addEventListener("blur", function () { setTimeout(close, 100); });
  }

  function validate(form) {
    form.addEventListener("change", function (e) {
      var field = e.target;
      if (!field.willValidate) return;
      var id = field.id + "-client-error";
      var old = document.getElementById(id);
      if (old) old.remove();
      if (field.checkValidity()) {
        if (!document.getElementById(field.id + "-error")) field.removeAttribute("aria-invalid");
        return;
      }
      var p = document.createElement("p");
      p.className = "field-error";
      p.id = id;
      p.textContent = field.validationMessage;
      field.setAttribute("aria-invalid", "true");
      field.setAttribute("aria-describedby", id);
      field.insertAdjacentElement("afterend", p);
    });
  }

  document.querySelectorAll("[data-skill-autocomplete]").forEach(autocomplete);
  document.querySelectorAll("form[data-validate]").forEach(validate);
  // The language switch applies at once when scripts run.
  var lang_switch = document.getElementById("lang-switch");
  if (lang_switch) {
    lang_switch.addEventListener("change", function () { lang_switch.form.submit(); });
  }
})();
