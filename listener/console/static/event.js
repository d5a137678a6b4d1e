// The event page's live part: figures and incoming messages, polled every two seconds.
(function () {
  "use strict";
  const live = document.getElementById("live");
  const feed = document.getElementById("feed");
  const empty = document.getElementById("feed-empty");
  const seen = new Set();
  let since = null;

  function show(message) {
    if (seen.has(message.id)) return;
    seen.add(message.id);
    const item = document.createElement("li");
    const when = document.createElement("time");
    when.dateTime = message.at;
    when.textContent = new Date(message.at).toLocaleTimeString();
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = message.participant;
    const text = document.createElement("span");
    text.className = "text";
    text.textContent = message.text;
    item.append(when, " ", who, " ", text);
    feed.prepend(item);
    empty.hidden = true;
  }

  async function poll() {
    const url = live.dataset.liveUrl + (since ? "?since=" + encodeURIComponent(since) : "");
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      if (response.status === 401) { window.location.reload(); return; }
      if (!response.ok) return;
      const data = await response.json();
      const figures = Object.assign({ messages_last_hour: data.messages_last_hour }, data.stats);
      live.querySelectorAll("[data-figure]").forEach(function (cell) {
        const value = figures[cell.dataset.figure];
        if (value !== undefined) cell.textContent = String(value);
      });
      data.messages.forEach(show);
      if (data.messages.length) since = data.messages[data.messages.length - 1].at;
    } catch (error) {
      // offline for a moment: the next poll tries again
    } finally {
      live.dataset.polled = String(Number(live.dataset.polled || 0) + 1);
      window.setTimeout(poll, 2000);
    }
  }

  poll();
})();
