// A refused unlock says how long to wait; counting it down beats a silent
// refusal (the teacher sees when her next try can work, and the button
// cannot send a try that would only be refused again).
// The page renders the sentence's forms for "one" and "other" (the kit's
// languages, Dutch and English, have just these two); Intl.PluralRules picks.

export function waitText(seconds, forms, locale) {
  const form = new Intl.PluralRules(locale).select(seconds) === "one" ? forms.one : forms.other;
  return form.replace("%(num)s", String(seconds));
}

export function countDown(box, button, now = () => Date.now()) {
  const deadline = now() + Number(box.dataset.waitS) * 1000;
  const forms = { one: box.dataset.one, other: box.dataset.other };
  const locale = document.documentElement.lang || "nl";
  if (button) button.disabled = true;
  const tick = () => {
    const left = Math.ceil((deadline - now()) / 1000);
    if (left <= 0) {
      box.textContent = box.dataset.done;
      if (button) button.disabled = false;
      return;
    }
    box.textContent = waitText(left, forms, locale);
    setTimeout(tick, Math.min(1000, deadline - now() - (left - 1) * 1000));
  };
  tick();
}

const box = document.querySelector("[data-wait-s]");
if (box) countDown(box, document.getElementById(box.dataset.button || "unlock-button"));
