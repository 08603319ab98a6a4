// The subscription page's change wizard (imports/changes): show only the new value of the chosen kind,
// and the time only for "at a chosen time". Without JavaScript every field shows and the server decides.
(function () {
  "use strict";
  var FIELDS = {
    quantity: "quantity", billing_cycle: "billing_frequency", term: "term", upgrade: "service", auto_renew: "auto_renew",
  };
  function wrapper(name) {
    var input = document.querySelector(".change-choose [name='" + name + "']");
    return input ? input.closest(".wz-field") : null;
  }
  function checked(name) {
    var input = document.querySelector(".change-choose [name='" + name + "']:checked");
    return input ? input.value : "";
  }
  function update() {
    var kind = checked("kind");
    Object.keys(FIELDS).forEach(function (key) {
      var field = wrapper(FIELDS[key]);
      if (field) field.hidden = key !== kind;
    });
    var at = wrapper("schedule_at");
    if (at) at.hidden = checked("when") !== "at";
  }
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector(".change-choose");
    if (!form) return;
    form.addEventListener("change", update);
    update();
  });
})();
