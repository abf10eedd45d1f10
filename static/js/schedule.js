// Schedule pages: the Print buttons open the browser's print dialog (the print stylesheet
// lays the day sheet or the week out on paper). Without script the button does nothing and
// the browser's own Print menu works the same.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
});
