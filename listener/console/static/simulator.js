// The simulator: send messages through the real engine and follow the state on the diagram.
(function () {
  "use strict";
  const chat = document.getElementById("chat");
  const form = document.getElementById("send-form");
  const input = document.getElementById("message");
  const errorBox = document.getElementById("sim-error");
  const diagram = document.getElementById("diagram");
  const buttons = document.querySelectorAll(".sim button");
  let shownState = null;

  function render(view) {
    chat.replaceChildren();
    view.lines.forEach(function (line) {
      const item = document.createElement("li");
      item.className = "bubble " + line.speaker;
      const who = document.createElement("span");
      who.className = "visually-hidden";
      who.textContent = line.speaker === "you" ? "You: " : "Bot: ";
      item.append(who);
      if (line.voice) {
        const tag = document.createElement("em");
        tag.textContent = "(voice note) ";
        item.append(tag);
      }
      item.append(line.text);
      chat.append(item);
    });
    chat.scrollTop = chat.scrollHeight;
    document.getElementById("sim-state").textContent = view.state;
    document.getElementById("sim-clock").textContent = new Date(view.clock).toUTCString();
    document.getElementById("sim-participant").textContent = view.participant;
    if (view.state !== shownState || !diagram.dataset.drawn) {
      shownState = view.state;
      ListenerDiagram.draw(diagram, view.diagram).then(function () { diagram.dataset.state = view.state; });
    }
  }

  async function call(path, body) {
    errorBox.hidden = true;
    buttons.forEach(function (button) { button.disabled = true; });
    try {
      const response = await fetch("/console/simulator/" + path, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(body || {}),
      });
      const data = await response.json();
      if (!response.ok) throw new Error(data.detail || "The simulator could not do that.");
      render(data);
      return true;
    } catch (error) {
      errorBox.textContent = error.message;
      errorBox.hidden = false;
      return false;
    } finally {
      buttons.forEach(function (button) { button.disabled = false; });
    }
  }

  async function send(voice) {
    const text = input.value.trim();
    if (!text) { input.focus(); return; }
    if (await call("send", { text: text, voice: voice })) input.value = "";
    input.focus();
  }

  form.addEventListener("submit", function (event) { event.preventDefault(); send(false); });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); send(false); }
  });
  document.getElementById("send-voice").addEventListener("click", function () { send(true); });
  document.getElementById("wait").addEventListener("click", function () { call("wait"); });
  document.getElementById("reload").addEventListener("click", function () { call("reload"); });
  document.getElementById("start-over").addEventListener("click", function () { call("start-over"); });

  render(JSON.parse(document.getElementById("initial-view").textContent));
})();
