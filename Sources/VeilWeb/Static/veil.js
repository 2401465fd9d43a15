// Copy buttons; toggling an alias without reloading the page. Every form works without this file.
"use strict";
document.addEventListener("click", (event) => {
  const button = event.target.closest("button.copy");
  if (!button || !navigator.clipboard) return;
  navigator.clipboard.writeText(button.dataset.copy).then(() => {
    const label = button.textContent;
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = label; }, 1500);
  });
});
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!form.classList.contains("toggle") || !window.fetch) return;
  event.preventDefault();
  const response = await fetch(form.action, {
    method: "POST", body: new URLSearchParams(new FormData(form)),
    headers: { "Accept": "application/json" }, credentials: "same-origin",
  });
  if (!response.ok) { form.submit(); return; }
  const state = await response.json();
  const item = form.closest("li.alias");
  item.classList.toggle("disabled", !state.enabled);
  form.querySelector("button").textContent = state.enabled ? "Disable" : "Enable";
  const badge = item.querySelector(".badge.off");
  if (state.enabled && badge) badge.remove();
  if (!state.enabled && !badge) {
    const span = document.createElement("span");
    span.className = "badge off"; span.textContent = "disabled";
    item.querySelector(".address").appendChild(span);
  }
});
