// Progressive enhancement only: every control works as a plain link without this file.
(function () {
  "use strict";
  var exit = document.querySelector("[data-quick-exit]");
  if (!exit) return;
  function leave(event) {
    if (event) event.preventDefault();
    // replace() keeps this page out of the Back button's history.
    window.location.replace(exit.href);
  }
  exit.addEventListener("click", leave);
  var lastEscape = 0;
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var now = Date.now();
    if (now - lastEscape < 1000) leave(event);
    lastEscape = now;
  });
})();
