/* The session form, helped when JavaScript runs (the form works without it):
   - the total dose in mg is shown as weight and mg/kg are typed;
   - a dose far from the patient's last one is pointed out (a warning, never a refusal);
   - "counts toward the series" shows only for a session stopped early, and the early-booster
     reason only for a date before the window opens.
   Everything it needs comes from data-* attributes on the form; no inline script (strict CSP). */
(function () {
  "use strict";

  function number(input) {
    if (!input || input.value.trim() === "") { return null; }
    var value = Number(input.value.replace(",", "."));
    return isFinite(value) ? value : null;
  }

  function wrapper(input) {
    return input ? input.closest(".field") : null;
  }

  function show(element, visible) {
    if (element) { element.hidden = !visible; }
  }

  function setUp(form) {
    var weight = form.querySelector("#weight_kg");
    var dose = form.querySelector("#dose_mg_per_kg");
    var total = form.querySelector("#total-mg");
    var warning = form.querySelector("#dose-change-warning");
    var outcome = form.querySelector("#outcome");
    var counts = form.querySelector("#counts_toward_series");
    var givenAt = form.querySelector("#given_at");
    var earlyReason = form.querySelector("#early_reason");
    var lastDose = form.dataset.lastDose ? Number(form.dataset.lastDose) : null;
    var warnPercent = form.dataset.warnPercent ? Number(form.dataset.warnPercent) : null;
    var windowOpens = form.dataset.windowOpens || "";

    function updateTotal() {
      var w = number(weight), d = number(dose);
      if (total) {
        total.textContent = (w !== null && d !== null) ? (Math.round(w * d * 100) / 100).toFixed(2) + " mg" : "—";
      }
      if (warning && lastDose && warnPercent !== null) {
        var change = d === null ? 0 : Math.round(Math.abs(d - lastDose) * 100 / lastDose);
        var far = d !== null && change > warnPercent;
        warning.textContent = far ? "This dose differs from the last (" + lastDose + " mg/kg) by " + change +
          "%, more than the clinic's " + warnPercent + "%. Check it is intended." : "";
        show(warning, far);
      }
    }

    function updateFields() {
      if (outcome && counts) {
        var stopped = outcome.value === "stopped_early";
        show(wrapper(counts), stopped);
        if (!stopped) { counts.checked = false; }
      }
      if (earlyReason && windowOpens) {
        var day = givenAt && givenAt.value ? givenAt.value.slice(0, 10) : "";
        var early = earlyReason.value.trim() !== "" || (day !== "" && day < windowOpens);
        show(wrapper(earlyReason), early);
      }
    }

    [weight, dose].forEach(function (input) {
      if (input) { input.addEventListener("input", updateTotal); }
    });
    [outcome, givenAt].forEach(function (input) {
      if (input) { input.addEventListener("change", updateFields); input.addEventListener("input", updateFields); }
    });
    show(total ? total.closest(".live-total") : null, true);
    updateTotal();
    updateFields();
  }

  document.querySelectorAll("form[data-session-form]").forEach(setUp);
}());
