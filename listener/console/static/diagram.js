// Fits the flow diagram (an SVG the server drew) to its frame, and zooms and pans it: the
// +/-/Fit buttons, Ctrl or Cmd with the wheel (a trackpad's pinch), dragging, two-finger
// pinch on a touch screen, and the keys + - 0 and the arrows while the frame has focus.
window.ListenerDiagram = (function () {
  "use strict";
  const STEP = 1.25;
  const MOST = 8;
  const LEAST = 0.5;
  const DRAG = 4;

  function mount(frame) {
    const svg = frame.querySelector("svg");
    if (!svg) return null;
    const box = svg.viewBox.baseVal;
    const fit = { x: box.x, y: box.y, w: box.width, h: box.height };
    let view = Object.assign({}, fit);
    svg.removeAttribute("width");
    svg.removeAttribute("height");
    svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
    frame.style.aspectRatio = fit.w + " / " + fit.h;  // as tall as the drawing needs, up to max-height

    function apply() {
      svg.setAttribute("viewBox", [view.x, view.y, view.w, view.h].join(" "));
      frame.dataset.zoom = (fit.w / view.w).toFixed(3);
    }
    function toDiagram(clientX, clientY) {
      const matrix = svg.getScreenCTM();
      if (!matrix) return [view.x + view.w / 2, view.y + view.h / 2];
      const point = new DOMPoint(clientX, clientY).matrixTransform(matrix.inverse());
      return [point.x, point.y];
    }
    function zoom(factor, at) {
      const scale = (fit.w / view.w) * factor;
      if (scale > MOST || scale < LEAST) return;
      const [cx, cy] = at || [view.x + view.w / 2, view.y + view.h / 2];
      view = { x: cx - (cx - view.x) / factor, y: cy - (cy - view.y) / factor, w: view.w / factor, h: view.h / factor };
      apply();
    }
    function reset() { view = Object.assign({}, fit); apply(); }
    function panBy(dxClient, dyClient) {
      const matrix = svg.getScreenCTM();
      const unit = matrix ? 1 / matrix.a : 1;
      view.x -= dxClient * unit;
      view.y -= dyClient * unit;
      apply();
    }

    const tools = document.querySelector('.diagram-tools[aria-controls="' + frame.id + '"]');
    if (tools && !tools.dataset.bound) {
      tools.dataset.bound = "1";
      tools.addEventListener("click", function (event) {
        const button = event.target.closest("button[data-zoom]");
        if (!button || !frame.listenerDiagram) return;
        const action = button.dataset.zoom;
        if (action === "fit") frame.listenerDiagram.reset();
        else frame.listenerDiagram.zoom(action === "in" ? STEP : 1 / STEP);
      });
    }
    if (!frame.dataset.bound) {
      frame.dataset.bound = "1";
      const pointers = new Map();
      let dragged = false;
      let pinch = 0;
      frame.addEventListener("wheel", function (event) {
        if (!(event.ctrlKey || event.metaKey) || !frame.listenerDiagram) return;
        event.preventDefault();
        frame.listenerDiagram.zoom(event.deltaY < 0 ? STEP : 1 / STEP, frame.listenerDiagram.toDiagram(event.clientX, event.clientY));
      }, { passive: false });
      frame.addEventListener("pointerdown", function (event) {
        pointers.set(event.pointerId, { x: event.clientX, y: event.clientY, startX: event.clientX, startY: event.clientY });
        dragged = false;
        pinch = 0;
      });
      frame.addEventListener("pointermove", function (event) {
        const last = pointers.get(event.pointerId);
        if (!last || !frame.listenerDiagram) return;
        const current = { x: event.clientX, y: event.clientY, startX: last.startX, startY: last.startY };
        pointers.set(event.pointerId, current);
        if (pointers.size === 2) {
          const [a, b] = Array.from(pointers.values());
          const distance = Math.hypot(a.x - b.x, a.y - b.y);
          if (pinch) frame.listenerDiagram.zoom(distance / pinch, frame.listenerDiagram.toDiagram((a.x + b.x) / 2, (a.y + b.y) / 2));
          pinch = distance;
          dragged = true;
          return;
        }
        if (!dragged && Math.hypot(current.x - last.startX, current.y - last.startY) < DRAG) return;
        if (!dragged) { dragged = true; frame.setPointerCapture(event.pointerId); frame.classList.add("dragging"); }
        frame.listenerDiagram.panBy(current.x - last.x, current.y - last.y);
      });
      function release(event) {
        pointers.delete(event.pointerId);
        if (pointers.size < 2) pinch = 0;
        frame.classList.remove("dragging");
      }
      frame.addEventListener("pointerup", release);
      frame.addEventListener("pointercancel", release);
      frame.addEventListener("click", function (event) { if (dragged) { event.preventDefault(); dragged = false; } }, true);
      frame.addEventListener("keydown", function (event) {
        const diagram = frame.listenerDiagram;
        if (!diagram) return;
        const moves = { ArrowLeft: [40, 0], ArrowRight: [-40, 0], ArrowUp: [0, 40], ArrowDown: [0, -40] };
        if (event.key === "+" || event.key === "=") diagram.zoom(STEP);
        else if (event.key === "-") diagram.zoom(1 / STEP);
        else if (event.key === "0") diagram.reset();
        else if (moves[event.key]) diagram.panBy(moves[event.key][0], moves[event.key][1]);
        else return;
        event.preventDefault();
      });
    }
    frame.listenerDiagram = { zoom: zoom, reset: reset, panBy: panBy, toDiagram: toDiagram };
    apply();
    return frame.listenerDiagram;
  }

  // The simulator redraws the diagram (with the current state) after every message.
  let drawn = 0;
  function draw(frame, svgText) {
    drawn += 1;
    frame.innerHTML = svgText;
    mount(frame);
    frame.dataset.drawn = String(drawn);
    return Promise.resolve();
  }

  return { mount: mount, draw: draw };
})();
