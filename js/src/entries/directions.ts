import type { RenderProps } from "@anywidget/types";
import type { DirectionsWidgetTraits } from "../traits/directions";
function render({ el }: RenderProps<DirectionsWidgetTraits>): () => void {
  el.textContent = "directions";
  return () => undefined;
}
export default { render };
