// Draws a Mermaid diagram (the server writes its source, counts and highlight included).
window.ListenerDiagram = (function () {
  "use strict";
  mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: "neutral" });
  let drawn = 0;
  let queue = Promise.resolve();

  function draw(element, source) {
    queue = queue.then(async function () {
      drawn += 1;
      try {
        const result = await mermaid.render("flow-diagram-" + drawn, source);
        element.innerHTML = result.svg;
        // Drawn at its natural size (the box scrolls): shrunk to the page, labels are unreadable.
        const svg = element.querySelector("svg");
        if (svg && svg.style.maxWidth) { svg.style.width = svg.style.maxWidth; svg.style.maxWidth = "none"; }
        const current = element.querySelector(".current");
        if (current) current.scrollIntoView({ block: "nearest", inline: "center" });
        element.dataset.drawn = String(drawn);
      } catch (error) {
        element.textContent = "The diagram could not be drawn; the states are listed in text on this page.";
      }
    });
    return queue;
  }

  return { draw: draw };
})();
