/* Type-ahead for the header's patient search (WAI-ARIA combobox with a listbox popup).
 *
 * Without this file the search is a plain GET form to /search. With it, results appear as
 * you type (debounced, at most ten): arrows move, Enter opens the highlighted patient (or
 * submits the form when none is highlighted), Escape closes the list. Choosing a patient
 * fires a cancellable "patient-search:choose" event on the form (detail: the result) so a
 * page may use the patient itself; otherwise the browser opens the patient's page.
 */
(function () {
  "use strict";
  var DELAY_MS = 200;

  function setUp(form) {
    var input = form.querySelector("input[type=search]");
    var list = form.querySelector("[data-suggestions]");
    var status = form.querySelector("[data-suggest-status]");
    if (!input || !list || !status) { return; }
    var url = input.getAttribute("data-suggest-url");
    var timer = null, results = [], active = -1, asked = 0, shown = "";

    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", list.id);
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Patients found");

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      var options = list.querySelectorAll("[role=option]");
      active = index;
      for (var i = 0; i < options.length; i++) {
        options[i].setAttribute("aria-selected", i === index ? "true" : "false");
      }
      if (index >= 0 && options[index]) {
        input.setAttribute("aria-activedescendant", options[index].id);
        options[index].scrollIntoView({block: "nearest"});
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function choose(index) {
      var result = results[index];
      if (!result) { return; }
      var event = new CustomEvent("patient-search:choose", {detail: result, cancelable: true, bubbles: true});
      if (form.dispatchEvent(event)) { window.location.assign(result.url); }
      close();
    }

    function line(text, className) {
      var span = document.createElement("span");
      span.className = className;
      span.textContent = text;
      return span;
    }

    function render(answer) {
      results = answer.results || [];
      list.textContent = "";
      results.forEach(function (result, index) {
        var option = document.createElement("li");
        option.id = list.id + "-" + index;
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        option.appendChild(line(result.name, "suggestion-name"));
        var facts = "born " + result.born + " · MRN " + result.mrn + (result.phone ? " · " + result.phone : "");
        option.appendChild(line(facts, "suggestion-facts"));
        option.addEventListener("mousedown", function (event) { event.preventDefault(); });
        option.addEventListener("click", function () { choose(index); });
        list.appendChild(option);
      });
      var words;
      if (answer.problem) {
        words = answer.problem;
      } else if (!results.length) {
        words = "No patient found.";
      } else {
        words = results.length + (answer.more ? " or more" : "") + " patient" +
          (results.length === 1 && !answer.more ? "" : "s") + " found; use the arrow keys to choose.";
      }
      status.textContent = words;
      if (results.length) {
        list.hidden = false;
        input.setAttribute("aria-expanded", "true");
        highlight(-1);
      } else {
        close();
      }
    }

    function ask() {
      var text = input.value.trim();
      if (text === shown) { return; }
      shown = text;
      if (!text) { results = []; status.textContent = ""; close(); return; }
      var ticket = ++asked;
      fetch(url + "?q=" + encodeURIComponent(text), {headers: {"Accept": "application/json"}, credentials: "same-origin"})
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (answer) { if (answer && ticket === asked) { render(answer); } })
        .catch(function () { /* the form still submits to the results page */ });
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(ask, DELAY_MS);
    });
    input.addEventListener("keydown", function (event) {
      var open = !list.hidden && results.length > 0;
      if (event.key === "ArrowDown") {
        event.preventDefault();
        if (!open && results.length) { list.hidden = false; input.setAttribute("aria-expanded", "true"); }
        highlight(Math.min(active + 1, results.length - 1));
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        highlight(Math.max(active - 1, -1));
      } else if (event.key === "Enter" && open && active >= 0) {
        event.preventDefault();
        choose(active);
      } else if (event.key === "Escape") {
        if (open) { event.preventDefault(); close(); } else { input.value = ""; shown = ""; }
      }
    });
    input.addEventListener("blur", function () { window.setTimeout(close, 100); });
  }

  document.querySelectorAll("form[data-patient-search]").forEach(setUp);
})();
