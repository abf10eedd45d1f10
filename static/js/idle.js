// Warns before the idle timeout; the server ends the session whatever this script does.
(function () {
  "use strict";
  var box = document.getElementById("idle-warning");
  if (!box) { return; }
  var total = parseInt(box.getAttribute("data-idle-seconds"), 10) * 1000;
  if (!total) { return; }
  var warnBefore = Math.min(120000, total / 2);
  var left = box.querySelector("[data-idle-left]");
  var form = box.querySelector("form");
  var deadline = 0, warnTimer = 0, endTimer = 0, tick = 0;

  function showLeft() {
    var seconds = Math.max(0, Math.round((deadline - Date.now()) / 1000));
    left.textContent = seconds > 60 ? Math.ceil(seconds / 60) + " minutes" : seconds + " seconds";
  }
  function warn() {
    box.hidden = false;
    showLeft();
    tick = setInterval(showLeft, 1000);
  }
  function schedule() {
    clearTimeout(warnTimer);
    clearTimeout(endTimer);
    clearInterval(tick);
    box.hidden = true;
    deadline = Date.now() + total;
    warnTimer = setTimeout(warn, total - warnBefore);
    // Past the deadline the server has ended the session: reloading shows the login page.
    endTimer = setTimeout(function () { window.location.reload(); }, total + 2000);
  }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    fetch(form.action, {method: "POST", body: new FormData(form), credentials: "same-origin",
                        headers: {"X-Requested-With": "fetch"}})
      .then(function (response) {
        if (response.ok) { schedule(); } else { window.location.reload(); }
      })
      .catch(function () { form.submit(); });
  });
  schedule();
}());
