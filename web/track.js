// The tracking page's one script, inlined and allowed by its hash in the Content-Security-Policy.
// Without it the Refresh control is a plain link to the same page with forceRefresh=true; with it
// the page asks for that in the background and swaps in the new <main>, announcing the result.
document.addEventListener("click", async (event) => {
  const link = event.target.closest && event.target.closest("#refresh");
  if (!link || !window.fetch || !window.DOMParser) return;
  event.preventDefault();
  if (link.getAttribute("aria-disabled") === "true") return;
  const live = document.getElementById("live");
  link.setAttribute("aria-disabled", "true");
  link.textContent = link.dataset.busy;
  try {
    const answer = await fetch(link.href, { headers: { Accept: "text/html" } });
    const page = new DOMParser().parseFromString(await answer.text(), "text/html");
    const main = page.querySelector("main");
    if (!main) throw new Error("no page");
    document.querySelector("main").replaceWith(main);
    live.textContent = link.dataset.done;
  } catch {
    link.removeAttribute("aria-disabled");
    link.textContent = link.dataset.label;
    live.textContent = link.dataset.failed;
  }
});
