"""How a product shows up in shopping replies: its from-price, its stock, the
card a channel renders and the buttons that open it or add it to the cart.

The product page address comes from ``YEBAN_PRODUCT_URL_TEMPLATE``
(``https://shop.example/item/{product_id}?sku={sku}``); without a template
no links and no buttons are made.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from schema.types import ProductInfo, VariantInfo


class UrlTemplateError(ValueError):
    """The product URL template names a placeholder other than product_id and sku."""


@dataclass(frozen=True)
class ProductLinks:
    """Builds product-page URLs from the configured template (validated at start-up)."""

    template: str = ""

    def __post_init__(self) -> None:
        if self.template:
            try:
                self.template.format(product_id="P1", sku="S1")
            except (KeyError, IndexError, ValueError) as e:
                raise UrlTemplateError(
                    f"YEBAN_PRODUCT_URL_TEMPLATE {self.template!r}: only {{product_id}} and {{sku}} "
                    f"may be used ({e})") from e

    def url(self, product_id: str, sku: str | None = None) -> str | None:
        if not self.template:
            return None
        url = self.template.format(product_id=product_id, sku=sku or "")
        # A template with ?sku={sku} and no SKU chosen: drop the empty parameter.
        return url.replace("?sku=&", "?").removesuffix("?sku=").removesuffix("&sku=")

    def actions(self, product: ProductInfo, sku: str | None = None) -> list[dict]:
        url = self.url(product.product_id, sku)
        if url is None:
            return []
        base = {"product_id": product.product_id, **({"sku": sku} if sku else {})}
        return [{"type": "open_product", "label": "查看商品", "url": url, **base},
                {"type": "add_to_cart", "label": "加入购物车", "url": url, **base}]


def in_stock(product: ProductInfo, variants: Sequence[VariantInfo]) -> int:
    if variants:
        return sum(max(v.stock, 0) for v in variants)
    return int(product.total_stock or 0)


def price_range(product: ProductInfo, variants: Sequence[VariantInfo]) -> tuple[float | None, float | None]:
    prices = sorted(v.price for v in variants if v.price is not None)
    if not prices:
        return product.price, product.price
    return prices[0], prices[-1]


def price_text(product: ProductInfo, variants: Sequence[VariantInfo]) -> str:
    low, high = price_range(product, variants)
    if low is None:
        return "价格见商品页"
    return f"¥{low:g}起" if high is not None and high > low else f"¥{low:g}"


def card(product: ProductInfo, variants: Sequence[VariantInfo], links: ProductLinks) -> dict:
    """The reply's product card: {product_id, name, price, from_price?, stock, url?}."""
    low, high = price_range(product, variants)
    out: dict = {"product_id": product.product_id, "name": product.display_name,
                 "price": low if low is not None else product.price, "stock": in_stock(product, variants)}
    if low is not None and high is not None and high > low:
        out["from_price"] = low
    url = links.url(product.product_id)
    if url:
        out["url"] = url
    return out


def variant_label(attributes: dict[str, str]) -> str:
    return " ".join(str(v) for v in attributes.values())
