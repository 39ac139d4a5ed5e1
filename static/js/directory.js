// The directory entry form's phone check as she types (hub/templates/console/directory_entry.html):
// each number field marked data-phone-check asks the server (GET /admin/directory/check-phone),
// which checks it as `hub check` does, and shows under the field the number as the file will
// hold it, or what is wrong, and the warnings. Without this script the same check runs on save.
// On the import page, a chosen CSV file is read into the text box the form sends.
"use strict";

(function () {
  var form = document.querySelector("form.entry-form");
  if (form) {
    var url = form.getAttribute("data-check-url");
    var country = form.querySelector("#country");
    Array.prototype.forEach.call(form.querySelectorAll("[data-phone-check]"), function (field) {
      var out = document.getElementById(field.id + "-check");
      if (!out || !url) return;
      var timer = null;
      var asked = 0;
      function show(answer) {
        out.textContent = "";
        var line = answer.ok ? answer.display || answer.written : answer.error;
        var head = document.createElement("span");
        head.className = answer.ok ? "" : "error";
        head.textContent = line;
        out.appendChild(head);
        (answer.warnings || []).forEach(function (warning) {
          var item = document.createElement("span");
          item.textContent = " · " + warning;
          out.appendChild(item);
        });
        out.hidden = false;
      }
      function check() {
        var value = field.value.trim();
        if (!value) {
          out.hidden = true;
          out.textContent = "";
          return;
        }
        var mine = ++asked;
        var query = new URLSearchParams({
          field: field.getAttribute("data-phone-check"),
          number: value,
          country: country ? country.value.trim() : "",
        });
        fetch(url + "?" + query.toString(), {
          credentials: "same-origin",
          headers: { Accept: "application/json" },
        })
          .then(function (response) {
            return response.ok ? response.json() : null;
          })
          .then(function (answer) {
            // Only the answer to what the field holds now.
            if (answer && mine === asked) show(answer);
          })
          .catch(function () {});
      }
      field.addEventListener("input", function () {
        clearTimeout(timer);
        timer = setTimeout(check, 350);
      });
      if (country) country.addEventListener("change", check);
    });
  }

  var picker = document.getElementById("csv-file");
  var box = document.getElementById("csv");
  if (picker && box) {
    picker.hidden = false;
    var label = document.querySelector('label[for="csv-file"]');
    if (label) label.hidden = false;
    picker.addEventListener("change", function () {
      var file = picker.files && picker.files[0];
      if (!file) return;
      var reader = new FileReader();
      reader.onload = function () {
        box.value = String(reader.result || "");
      };
      reader.readAsText(file, "utf-8");
    });
  }
})();
