// Drop-box uploads with a progress bar. Without this script the form
// posts as it is and the page reloads when the files are in.
"use strict";
(function () {
  const form = document.getElementById("share-upload-form");
  const bar = document.getElementById("share-progress");
  const status = document.getElementById("share-status");
  if (!form || !window.XMLHttpRequest || !window.FormData) return;
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "application/json");
    bar.hidden = false;
    bar.value = 0;
    status.textContent = "Sending…";
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) {
        bar.value = Math.floor((e.loaded / e.total) * 100);
        status.textContent = "Sending… " + bar.value + "%";
      }
    });
    xhr.addEventListener("load", function () {
      let msg = "";
      try { msg = JSON.parse(xhr.responseText).error || ""; } catch (e) { msg = ""; }
      if (xhr.status === 201) {
        bar.value = 100;
        status.textContent = "Received: " + JSON.parse(xhr.responseText).received.join(", ");
        status.dataset.done = "ok";
        form.reset();
      } else {
        status.textContent = "Not sent: " + (msg || ("error " + xhr.status));
        status.dataset.done = "failed";
      }
    });
    xhr.addEventListener("error", function () {
      status.textContent = "Not sent: the connection failed.";
      status.dataset.done = "failed";
    });
    xhr.send(new FormData(form));
  });
})();
