/* Partnerhub web hub: small progressive enhancements. Every page works without them
   except the client-side steps of "Create plan" and the confirmation dialogs. */
(function () {
  "use strict";

  // CSRF token on every HTMX request (Django reads X-CSRFToken).
  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) event.detail.headers["X-CSRFToken"] = meta.content;
  });

  function on(selector, type, handler) {
    document.addEventListener(type, function (event) {
      var target = event.target.closest ? event.target.closest(selector) : null;
      if (target) handler(event, target);
    });
  }

  // No inline handlers: the Content-Security-Policy allows scripts from our files only.
  // A select with data-autosubmit submits its form when it changes (list filters).
  on("select[data-autosubmit]", "change", function (event, select) {
    if (select.form) select.form.submit();
  });
  // A link with data-history-back goes back when there is a page to go back to.
  on("a[data-history-back]", "click", function (event) {
    if (window.history.length > 1) {
      event.preventDefault();
      window.history.back();
    }
  });

  // Mobile navigation.
  on("[data-nav-toggle]", "click", function () {
    document.querySelector(".shell").classList.toggle("nav-open");
  });

  // Confirmation dialog for forms with data-confirm (delete, removing a plan feature…).
  var pendingForm = null;
  var pendingCheckbox = null;
  function openConfirm(title, text, danger, confirmLabel) {
    var dialog = document.getElementById("confirm-dialog");
    dialog.querySelector("[data-confirm-title]").textContent = title || "Are you sure?";
    dialog.querySelector("[data-confirm-text]").textContent = text;
    var ok = dialog.querySelector("[data-confirm-ok]");
    ok.textContent = confirmLabel || "Confirm";
    ok.className = "btn " + (danger ? "btn-danger" : "btn-primary");
    dialog.showModal();
  }
  on("form[data-confirm]", "submit", function (event, form) {
    if (form.dataset.confirmed === "1") return;
    event.preventDefault();
    pendingForm = form;
    pendingCheckbox = null;
    pendingHref = null;
    openConfirm(form.dataset.confirmTitle, form.dataset.confirm, form.dataset.confirmDanger === "1",
      form.dataset.confirmLabel);
  });
  // A checkbox with data-confirm-uncheck asks before it is unchecked.
  on("input[data-confirm-uncheck]", "click", function (event, box) {
    if (box.checked) return; // re-checking needs no confirmation
    event.preventDefault();
    pendingForm = null;
    pendingCheckbox = box;
    pendingHref = null;
    openConfirm(box.dataset.confirmTitle, box.dataset.confirmUncheck, true, "Remove feature");
  });
  on("[data-confirm-ok]", "click", function () {
    document.getElementById("confirm-dialog").close();
    if (pendingHref) {
      dirtyForm = null;
      var href = pendingHref;
      pendingHref = null;
      window.location.href = href;
      return;
    }
    if (pendingForm) {
      pendingForm.dataset.confirmed = "1";
      if (pendingForm.requestSubmit) pendingForm.requestSubmit(); else pendingForm.submit();
    } else if (pendingCheckbox) {
      pendingCheckbox.checked = false;
      pendingCheckbox.dispatchEvent(new Event("change", { bubbles: true }));
    }
    pendingForm = null;
    pendingCheckbox = null;
  });
  on("[data-dialog-close]", "click", function (event, button) {
    button.closest("dialog").close();
  });

  // Dialogs rendered by the server that must open at once (edit-plan confirmations).
  function openServerDialogs(root) {
    (root || document).querySelectorAll("dialog[data-open]").forEach(function (d) {
      if (!d.open) d.showModal();
    });
  }

  // Plan form: steps, billing cycles, currencies, revenue share.
  function syncCycles(form) {
    var cycles = Array.prototype.map.call(form.querySelectorAll('input[name="billing_cycles"]:checked'),
      function (i) { return i.value; });
    form.querySelectorAll("[data-cycle]").forEach(function (el) {
      el.hidden = cycles.indexOf(el.dataset.cycle) === -1;
    });
  }
  function syncPlanType(form) {
    var checked = form.querySelector('input[name="plan_type"]:checked');
    var rev = checked && checked.value === "revenue_sharing";
    form.querySelectorAll("[data-revenue-only]").forEach(function (el) { el.hidden = !rev; });
  }
  function syncCurrencyBlocks(form) {
    form.querySelectorAll("[data-currency-block]").forEach(function (block) {
      var flag = block.querySelector("input[data-currency-flag]");
      block.hidden = !flag.checked;
    });
    form.querySelectorAll("select[data-add-currency]").forEach(function (select) {
      var group = select.dataset.addCurrency;
      Array.prototype.forEach.call(select.options, function (opt) {
        if (!opt.value) return;
        var flag = form.querySelector('input[data-currency-flag="' + group + '"][value="' + opt.value + '"]');
        opt.hidden = opt.disabled = !!(flag && flag.checked);
      });
    });
  }
  function showStep(form, n) {
    form.querySelectorAll("[data-step]").forEach(function (el) {
      el.hidden = el.dataset.step !== String(n);
    });
    document.querySelectorAll("[data-step-indicator]").forEach(function (li) {
      if (li.dataset.stepIndicator === String(n)) li.setAttribute("aria-current", "step");
      else li.removeAttribute("aria-current");
    });
    window.scrollTo(0, 0);
  }
  function initPlanForm(form) {
    syncCycles(form);
    syncPlanType(form);
    syncCurrencyBlocks(form);
    if (form.dataset.steps) {
      // Open the step holding the first error, else step 1.
      var firstError = form.querySelector(".has-error, .errorlist");
      var step = firstError && firstError.closest("[data-step]") ? firstError.closest("[data-step]").dataset.step : "1";
      showStep(form, step);
      // Each step's indicator says how many of its fields need fixing, so errors on the
      // step not shown are not missed.
      document.querySelectorAll("[data-step-indicator]").forEach(function (li) {
        var section = form.querySelector('[data-step="' + li.dataset.stepIndicator + '"]');
        var count = section ? section.querySelectorAll(".errorlist li").length : 0;
        if (!count) return;
        var badge = document.createElement("span");
        badge.className = "badge badge-danger";
        badge.setAttribute("data-testid", "step-errors-" + li.dataset.stepIndicator);
        badge.textContent = count + " to fix";
        li.appendChild(document.createTextNode(" "));
        li.appendChild(badge);
      });
    }
  }
  on('form[data-plan-form] input[name="billing_cycles"]', "change", function (e, input) { syncCycles(input.form); });
  on('form[data-plan-form] input[name="plan_type"]', "change", function (e, input) { syncPlanType(input.form); });
  on("select[data-add-currency]", "change", function (event, select) {
    if (!select.value) return;
    var form = select.form;
    var flag = form.querySelector('input[data-currency-flag="' + select.dataset.addCurrency + '"][value="' + select.value + '"]');
    if (flag) flag.checked = true;
    select.value = "";
    syncCurrencyBlocks(form);
    var block = flag && flag.closest("[data-currency-block]");
    if (block) { var first = block.querySelector("input:not([type=hidden]):not([data-currency-flag])"); if (first) first.focus(); }
  });
  on("[data-remove-currency]", "click", function (event, button) {
    var block = button.closest("[data-currency-block]");
    block.querySelector("input[data-currency-flag]").checked = false;
    syncCurrencyBlocks(block.closest("form"));
  });
  // Step 1's own checks before "Next", every one at its field at once, in the server's
  // words (the form carries them as data-msg-*); the server checks everything again.
  function clearClientErrors(form) {
    form.querySelectorAll("[data-client-error]").forEach(function (el) { el.remove(); });
    form.querySelectorAll("[data-client-invalid]").forEach(function (el) {
      el.classList.remove("has-error");
      el.removeAttribute("data-client-invalid");
    });
  }
  function showClientError(holder, text) {
    if (!holder) return;
    var list = document.createElement("ul");
    list.className = "errorlist";
    list.setAttribute("data-client-error", "");
    var item = document.createElement("li");
    item.textContent = text;
    list.appendChild(item);
    holder.appendChild(list);
    if (!holder.classList.contains("has-error")) {
      holder.classList.add("has-error");
      holder.setAttribute("data-client-invalid", "");
    }
  }
  function checkStepOne(form) {
    var msg = form.dataset;
    var errors = [];
    function fieldOf(input) { return input ? input.closest(".field") : null; }
    [["name", msg.msgName], ["display_name", msg.msgDisplayName]].forEach(function (pair) {
      var input = form.querySelector('[name="' + pair[0] + '"]');
      if (input && !input.value.trim()) errors.push([fieldOf(input), pair[1], input]);
    });
    var type = form.querySelector('input[name="plan_type"]:checked');
    var share = form.querySelector('[name="revenue_share_percent"]');
    if (type && type.value === "revenue_sharing" && share && !share.value.trim()) {
      errors.push([fieldOf(share), msg.msgShare, share]);
    }
    var cycles = Array.prototype.filter.call(
      form.querySelectorAll('input[name="billing_cycles"]'), function (i) { return i.checked; });
    if (!cycles.length) {
      errors.push([form.querySelector("[data-cycles-field]"), msg.msgCycles, cycles[0]]);
    } else {
      var currencies = form.querySelectorAll('input[data-currency-flag="price"]:checked');
      if (!currencies.length) errors.push([form.querySelector("[data-prices-field]"), msg.msgCurrency, null]);
      currencies.forEach(function (flag) {
        cycles.forEach(function (cycle) {
          var price = form.querySelector('[name="price_' + flag.value + "_" + cycle.value + '"]');
          if (price && !price.value.trim()) {
            errors.push([fieldOf(price), msg.msgPrice.replace("{cycle}", cycle.value).replace("{currency}", flag.value), price]);
          }
        });
      });
    }
    clearClientErrors(form);
    errors.forEach(function (e) { showClientError(e[0], e[1]); });
    if (errors.length && errors[0][2]) errors[0][2].focus();
    return !errors.length;
  }
  on("[data-goto-step]", "click", function (event, button) {
    var form = button.closest("form");
    if (button.dataset.gotoStep === "2" && form.dataset.msgName && !checkStepOne(form)) return;
    showStep(form, button.dataset.gotoStep);
  });

  // "Unlimited" beside a number: ticking it clears and disables the number, so what is
  // saved is what is shown (typing 10 with Unlimited ticked used to save unlimited).
  function syncUnlimited(box) {
    var number = box.form && box.form.querySelector('[name="' + box.dataset.unlimitedFor + '"]');
    if (!number) return;
    if (box.checked) number.value = "";
    number.disabled = box.checked;
  }
  on("input[data-unlimited-for]", "change", function (event, box) { syncUnlimited(box); });

  // Setting a company to Custom says, before saving, what it keeps.
  function syncCustomNote(select) {
    var note = select.form && select.form.querySelector("[data-custom-note]");
    if (note) note.hidden = select.value !== "";
  }
  on('select[name="plan_id"]', "change", function (event, select) { syncCustomNote(select); });

  // A form with unsaved changes asks before the person leaves it (a sidebar link,
  // Discard, closing the tab). Saving it does not ask.
  var dirtyForm = null;
  var pendingHref = null;
  on("form[data-unsaved-guard]", "input", function (event, form) { dirtyForm = form; });
  on("form[data-unsaved-guard]", "change", function (event, form) { dirtyForm = form; });
  document.addEventListener("submit", function (event) {
    if (event.target === dirtyForm) dirtyForm = null;
  }, true);
  window.addEventListener("beforeunload", function (event) {
    if (!dirtyForm) return;
    event.preventDefault();
    event.returnValue = "";
  });
  on("a[href]", "click", function (event, link) {
    if (!dirtyForm || link.target || link.getAttribute("href").charAt(0) === "#") return;
    if (event.ctrlKey || event.metaKey || event.shiftKey) return;
    event.preventDefault();
    pendingForm = null;
    pendingCheckbox = null;
    pendingHref = link.href;
    var guard = dirtyForm.dataset;
    openConfirm(guard.leaveTitle || "Leave without saving?",
      guard.leaveText || "You have changes on this page that are not saved. If you leave now, they are lost.",
      true, guard.leaveLabel || "Leave without saving");
  });

  // Company fees: the inherit message follows the "Use plan fees" switch before saving.
  on('input[name="use_plan_fees"]', "change", function (event, box) {
    var banner = document.querySelector("[data-inherit-on]");
    if (!banner) return;
    banner.firstElementChild.textContent = box.checked ? banner.dataset.inheritOn : banner.dataset.inheritOff;
    banner.classList.toggle("banner-info", box.checked);
    banner.classList.toggle("banner-warning", !box.checked);
    var hint = document.querySelector("[data-unsaved]");
    if (hint) hint.hidden = false;
  });

  // On a narrow screen the filter panel collapses to its search box and a Filters button
  // (open at once when a filter is set). Without the script every filter shows.
  function initFilters(form) {
    if (form.classList.contains("is-collapsible")) return;
    form.classList.add("is-collapsible");
    var button = document.createElement("button");
    button.type = "button";
    button.className = "btn btn-sm filters-toggle";
    button.textContent = "Filters";
    var set = Array.prototype.some.call(form.querySelectorAll(".field:not(.grow) select"),
      function (s) { return s.selectedIndex > 0; });
    if (set) form.classList.add("is-open");
    button.setAttribute("aria-expanded", set ? "true" : "false");
    button.addEventListener("click", function () {
      var open = form.classList.toggle("is-open");
      button.setAttribute("aria-expanded", open ? "true" : "false");
    });
    form.parentNode.insertBefore(button, form);
  }

  function init(root) {
    (root || document).querySelectorAll("form.filters").forEach(initFilters);
    (root || document).querySelectorAll("form[data-plan-form]").forEach(initPlanForm);
    (root || document).querySelectorAll("input[data-unlimited-for]").forEach(syncUnlimited);
    (root || document).querySelectorAll('select[name="plan_id"]').forEach(syncCustomNote);
    openServerDialogs(root);
  }
  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (event) { openServerDialogs(event.detail.elt); });
})();
