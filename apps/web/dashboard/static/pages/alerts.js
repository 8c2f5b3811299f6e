// Alerts, open first: severity, what fired, repeats, delivery, and acknowledging (unless read-only).
import { api, chip, fmt, h, load, mount, table } from "../lib/dom.js";

const state = new URLSearchParams(location.search).get("state") ?? "all";
for (const a of document.querySelectorAll("#alert-filter a")) if (a.getAttribute("href") === `?state=${state}`) a.style.fontWeight = "700";

async function acknowledge(alert, button) {
  button.disabled = true;
  try {
    await api(`/alerts/${alert.alertId}/acknowledge`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    await refresh();
  } catch (err) {
    button.disabled = false;
    button.title = err.message;
    document.getElementById("status").textContent = `could not acknowledge #${alert.alertId}: ${err.message}`;
  }
}

function ackCell(a, readOnly) {
  if (a.acknowledgedAt) return `${a.acknowledgedBy ?? "?"} · ${fmt.time(a.acknowledgedAt)}`;
  if (a.resolvedAt) return "—";
  const button = h("button", { type: "button", "data-ack": a.alertId, disabled: readOnly, title: readOnly ? "read-only dashboard: set BOARD_READ_ONLY=false to acknowledge" : "stop reminders for this alert" }, "Acknowledge");
  button.addEventListener("click", () => acknowledge(a, button));
  return button;
}

const refresh = () =>
  load(async () => {
    const { alerts, readOnly } = await api(`/alerts?state=${encodeURIComponent(state)}`);
    mount(
      "alerts",
      table(
        [
          { label: "#", num: true, value: (a) => a.alertId },
          { label: "severity", value: (a) => chip(a.severity) },
          { label: "alert", value: (a) => h("div", {}, h("strong", {}, a.title), h("div", { class: "lines" }, a.message)), cls: () => "wrap" },
          { label: "component", value: (a) => a.component },
          { label: "triggered", value: (a) => fmt.time(a.triggeredAt) },
          { label: "last seen", value: (a) => fmt.time(a.lastSeenAt) },
          { label: "repeats", num: true, value: (a) => a.repeatCount },
          { label: "state", value: (a) => (a.resolvedAt ? chip("completed", `resolved ${fmt.time(a.resolvedAt)}`) : chip("failed", "open")) },
          { label: "delivery", value: (a) => chip(a.deliveryStatus) },
          { label: "acknowledged", value: (a) => ackCell(a, readOnly), cls: () => "wrap" },
        ],
        alerts,
        { emptyText: state === "open" ? "no open alerts" : "no alerts", rowAttrs: (a) => ({ "data-alert-id": a.alertId, "data-state": a.resolvedAt ? "resolved" : "open" }) },
      ),
    );
  });

await refresh();
setInterval(refresh, 30_000);
