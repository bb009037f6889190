// supplytrack pages: the little the server cannot do alone. Everything works without it,
// except that a job's progress then needs a reload (the page says so).
"use strict";

function followProgress(box) {
  var url = box.getAttribute("data-progress-url");
  var bar = box.querySelector("progress");
  var label = box.querySelector("[data-progress-label]");
  var state = box.querySelector("[data-progress-state]");
  var finished = ["SUCCEEDED", "FAILED", "CANCELLED", "DONE", "UNDONE", "APPLIED", "PARTIAL"];
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (answer) { return answer.ok ? answer.json() : Promise.reject(answer.status); })
      .then(function (job) {
        if (job.total > 0) { bar.max = job.total; bar.value = job.processed; }
        label.textContent = job.processed + " of " + job.total + " task instances";
        state.textContent = job.state;
        box.setAttribute("data-state", job.state);
        if (finished.indexOf(job.state) >= 0) {
          if (box.hasAttribute("data-reload-when-done")) { window.location.reload(); }
          return;
        }
        window.setTimeout(poll, 400);
      })
      .catch(function () { window.setTimeout(poll, 2000); });
  }
  poll();
}

document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-progress-url]").forEach(followProgress);
  document.querySelectorAll("[data-js-only]").forEach(function (el) { el.hidden = false; });
  document.querySelectorAll("[data-no-js]").forEach(function (el) { el.hidden = true; });
});
