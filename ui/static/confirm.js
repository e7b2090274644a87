// A form that destroys something (data-confirm) asks first.
document.querySelectorAll("form[data-confirm]").forEach((form) => {
  form.addEventListener("submit", (e) => { if (!window.confirm(form.dataset.confirm)) e.preventDefault(); });
});
// A destroying button inside an ordinary form (data-confirm-click) asks too.
document.querySelectorAll("button[data-confirm-click]").forEach((button) => {
  button.addEventListener("click", (e) => { if (!window.confirm(button.dataset.confirmClick)) e.preventDefault(); });
});
