// Facet search by part of a value: 黑色 asked, 曜石黑 stored (the colour word
// inside a store's own colour name). CONTAINS over AttrValue.value_norm needs a
// TEXT index; the range index of 0004 serves exact values.
CREATE TEXT INDEX attr_value_text IF NOT EXISTS FOR (a:AttrValue) ON (a.value_norm);
