// The alert form's live character counts (hub/templates/console/alert_compose.html): under each
// title and text, how many characters it has and its limit, marked when over. Characters are
// counted as the server counts them, by code point (an emoji is one), after trimming the ends.
// Without this script the page states each limit, and the server refuses a text past it.
"use strict";

(function () {
  var form = document.querySelector("form.compose");
  if (!form) return;
  var template = form.getAttribute("data-count-template") || "%(count)s / %(limit)s";

  function length(text) {
    return Array.from(text.replace(/\r\n?/g, "\n").trim()).length;
  }

  Array.prototype.forEach.call(form.querySelectorAll("[data-limit]"), function (field) {
    var hint = form.querySelector('[data-count-for="' + field.id + '"]');
    if (!hint) return;
    var limit = parseInt(field.getAttribute("data-limit"), 10);
    // A field the server refused keeps its mark until it is sent again.
    var refused = field.getAttribute("aria-invalid") === "true";
    var count = document.createElement("span");
    count.className = "counter";
    count.setAttribute("aria-hidden", "true");
    hint.appendChild(document.createTextNode(" "));
    hint.appendChild(count);
    function update() {
      var used = length(field.value);
      count.textContent = template.replace("%(count)s", used).replace("%(limit)s", limit);
      var over = used > limit;
      hint.classList.toggle("over", over);
      if (over) field.setAttribute("aria-invalid", "true");
      else if (!refused) field.removeAttribute("aria-invalid");
    }
    field.addEventListener("input", update);
    update();
  });
})();
