// A Print button ([data-print]) opens the browser's print dialog; without JavaScript the
// browser's own Print menu prints the same page with the print stylesheet.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
});
