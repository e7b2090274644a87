// The kit has no real-time clock: the unlocking browser's clock is offered
// so that lesson dates are right even before the kit first syncs.
(function () {
  "use strict";
  var field = document.getElementById("browser-time");
  if (!field) return;
  var form = field.form;
  form.addEventListener("submit", function () { field.value = String(Date.now() / 1000); });
})();
