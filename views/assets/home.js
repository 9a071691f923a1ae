// Home page: the copy button (shown only where the clipboard API exists; the URL field works without it).
for (const button of document.querySelectorAll('[data-copy]')) {
  if (!navigator.clipboard) continue;
  button.hidden = false;
  button.addEventListener('click', async () => {
    const field = document.querySelector(button.dataset.copy);
    await navigator.clipboard.writeText(field.value);
    button.querySelector('span').textContent = 'Copied';
    setTimeout(() => (button.querySelector('span').textContent = 'Copy'), 2000);
  });
}
