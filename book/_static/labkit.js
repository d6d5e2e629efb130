// The book's own script (added to every page by labkit.notebook.pages).
//
// The theme's sidebar opens a chapter's pages (walkthrough, lab) with a chevron
// that has no name for a screen reader: name each one after its chapter.
//
// Diagrams open full size: a click on a diagram, or on the "Open full size" button
// under it, shows the image at its own size in a dialog (scrollable when it is larger
// than the window). Escape, the Close button or a click anywhere closes it.
(function () {
  "use strict";

  function lightbox() {
    let dialog = document.querySelector("dialog.labkit-lightbox");
    if (dialog) {
      return dialog;
    }
    dialog = document.createElement("dialog");
    dialog.className = "labkit-lightbox";
    dialog.setAttribute("aria-label", "Diagram at full size");
    const close = document.createElement("button");
    close.type = "button";
    close.className = "labkit-lightbox-close";
    close.textContent = "Close";
    const image = document.createElement("img");
    dialog.append(close, image);
    dialog.addEventListener("click", () => dialog.close());
    document.body.append(dialog);
    return dialog;
  }

  function openFullSize(img) {
    const dialog = lightbox();
    const image = dialog.querySelector("img");
    image.src = img.src;
    image.alt = img.alt;
    dialog.showModal();
    dialog.querySelector("button").focus();
  }

  for (const summary of document.querySelectorAll(".bd-sidenav li.has-children > details > summary")) {
    const chapter = summary.closest("li").querySelector(":scope > a");
    if (!summary.textContent.trim() && !summary.hasAttribute("aria-label")) {
      summary.setAttribute("aria-label", chapter ? `Pages of ${chapter.textContent.trim()}` : "Pages of this chapter");
    }
  }

  for (const figure of document.querySelectorAll("figure.labkit-diagram")) {
    const img = figure.querySelector("img");
    if (!img || figure.querySelector("button.labkit-zoom")) {
      continue;
    }
    img.addEventListener("click", () => openFullSize(img));
    const button = document.createElement("button");
    button.type = "button";
    button.className = "labkit-zoom";
    button.textContent = "Open full size";
    button.addEventListener("click", () => openFullSize(img));
    (figure.querySelector("figcaption") || figure).append(button);
  }
})();
