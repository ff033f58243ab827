"""QGIS, headless, against a tokened wangge server (run by tests/client_qgis.rs).

Debian's QGIS (python3-qgis, qgis-providers) opens every collection a role may
read with its OGC API - Features provider ("OAPIF"), logged in through a Basic
authentication configuration (the token as the password) kept in a temporary
authentication database, and compares what QGIS reads with the server's own
items: counts, keys, every scalar property, every vertex, and the features a
bbox filter returns. The list properties QGIS 3.22 drops (`issues`, `cameras`)
must reach it through their text twins (`issues_text`, `cameras_text`). A
private collection must not open. The grids are rendered to a PNG per role.

Usage: qgis_client.py CONFIG.json, where CONFIG names the server `url`, the
`dataset`, the `out` directory for the images, and per role its `token`, the
collections it may read (`readable`) and those it may not (`private`).
Prints one line per collection and a JSON summary last; exits 1 on any
mismatch.
"""

import base64
import json
import math
import sys
import time
import urllib.request

from qgis.core import (
    QgsApplication,
    QgsAuthMethodConfig,
    QgsCategorizedSymbolRenderer,
    QgsDataSourceUri,
    QgsFeatureRequest,
    QgsFillSymbol,
    QgsLineSymbol,
    QgsMapRendererSequentialJob,
    QgsMapSettings,
    QgsProviderRegistry,
    QgsRectangle,
    QgsRendererCategory,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor

FAILURES = []


def fail(what):
    FAILURES.append(what)
    print("FAIL " + what, flush=True)


class Server:
    def __init__(self, url, dataset, token):
        self.url, self.dataset = url.rstrip("/"), dataset
        basic = base64.b64encode(("urllib:" + token).encode()).decode()
        self.auth = "Basic " + basic

    def get(self, path):
        req = urllib.request.Request(self.url + path, headers={"Authorization": self.auth})
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.load(r)

    def collections(self):
        return sorted(c["id"] for c in self.get("/collections")["collections"])

    def items(self, layer, bbox=None):
        q = "limit=10000" + ("&bbox=" + ",".join(repr(v) for v in bbox) if bbox else "")
        v = self.get("/collections/%s.%s/items?%s" % (self.dataset, layer, q))
        if v["numberMatched"] != len(v["features"]):
            fail("%s: one page of 10000 did not hold every feature" % layer)
        return v["features"]


def flat_coords(c):
    """The positions of a GeoJSON geometry, parts and rings in order."""
    if isinstance(c[0], (int, float)):
        return [(float(c[0]), float(c[1]))]
    return [p for x in c for p in flat_coords(x)]


def qgis_coords(geom):
    return [(v.x(), v.y()) for v in geom.vertices()]


def keyed(features, key):
    out = {}
    for f in features:
        out.setdefault(key(f), []).append(f)
    return out


def http_key(f, string_ids):
    """A feature's key: its id where the layer has string ids (QGIS shows them
    as the `id` field); else (ids the server numbered, which QGIS replaces by
    its own) its vertices."""
    if string_ids:
        return f["id"]
    return tuple(flat_coords(f["geometry"]["coordinates"]))


def qgis_key(f, string_ids):
    if string_ids:
        return f["id"]
    return tuple(qgis_coords(f.geometry()))


def same_scalar(q, v):
    """A QGIS attribute against a JSON scalar."""
    if v is None:
        return q is None or (hasattr(q, "isNull") and q.isNull())
    if isinstance(v, bool):
        return isinstance(q, bool) and q == v
    if isinstance(v, (int, float)):
        try:
            return float(q) == float(v)
        except (TypeError, ValueError):
            return False
    return q == v


def is_null(q):
    return q is None or (hasattr(q, "isNull") and q.isNull())


def compare_feature(layer, key, qf, hf, fields):
    props = hf["properties"]
    for name, v in props.items():
        i = fields.indexOf(name)
        if i < 0:
            fail("%s %s: QGIS has no field %r" % (layer, key, name))
            continue
        if isinstance(v, (list, dict)):
            # QGIS 3.22 drops JSON arrays and objects; the text twins below are
            # what it shows.
            continue
        q = qf.attribute(i)
        if not same_scalar(q, v):
            fail("%s %s: %s is %r in QGIS, %r over HTTP" % (layer, key, name, q, v))
    for name, twin in (("issues", "issues_text"), ("cameras", "cameras_text")):
        if isinstance(props.get(name), list):
            q = qf.attribute(twin) if fields.indexOf(twin) >= 0 else None
            if props[name] and is_null(q):
                fail("%s %s: %s is NULL in QGIS while %s is %r" % (layer, key, twin, name, props[name]))
            elif not is_null(q) and q != "; ".join(props[name]):
                fail("%s %s: %s is %r, %s %r" % (layer, key, twin, q, name, props[name]))
    got, want = qgis_coords(qf.geometry()), flat_coords(hf["geometry"]["coordinates"])
    if got != want:
        fail("%s %s: geometry differs (%d vertices in QGIS, %d over HTTP)" % (layer, key, len(got), len(want)))


class Qgis:
    def __init__(self, url, dataset):
        self.url, self.dataset = url, dataset
        self.manager = QgsApplication.authManager()
        if not self.manager.setMasterPassword("wangge-test-master", True):
            raise SystemExit("could not set the master password of the temporary auth database")

    def basic_config(self, name, token):
        """A Basic authentication configuration, as a planner makes it in the
        Data Source Manager: any user name, the token as the password."""
        cfg = QgsAuthMethodConfig()
        cfg.setMethod("Basic")
        cfg.setName("wangge " + name)
        cfg.setConfig("username", "qgis")
        cfg.setConfig("password", token)
        stored = self.manager.storeAuthenticationConfig(cfg)
        ok = stored[0] if isinstance(stored, tuple) else stored
        if not ok or not cfg.id():
            raise SystemExit("could not store the Basic authentication configuration")
        return cfg.id()

    def layer(self, layer, authcfg, page_size=None):
        uri = QgsDataSourceUri()
        uri.setParam("url", self.url)
        uri.setParam("typename", "%s.%s" % (self.dataset, layer))
        if page_size:
            uri.setParam("pageSize", str(page_size))
        uri.setAuthConfigId(authcfg)
        return QgsVectorLayer(uri.uri(False), layer, "OAPIF")


def check_layer(qgis, server, role, layer, authcfg):
    t0 = time.time()
    items = server.items(layer)
    string_ids = all(isinstance(f.get("id"), str) for f in items)
    # Three pages or more, so QGIS follows the next links.
    lyr = qgis.layer(layer, authcfg, page_size=max(1, math.ceil(len(items) / 3)))
    if not lyr.isValid():
        fail("%s as %s: QGIS cannot open it: %s" % (layer, role, lyr.error().summary()))
        return 0
    feats = list(lyr.getFeatures())
    if len(feats) != len(items) or lyr.featureCount() != len(items):
        fail("%s as %s: QGIS reads %d features (featureCount %d), HTTP %d"
             % (layer, role, len(feats), lyr.featureCount(), len(items)))
    if string_ids:
        if lyr.fields().indexOf("id") < 0:
            fail("%s: QGIS shows no id field" % layer)
            return 0
    got = keyed(feats, lambda f: qgis_key(f, string_ids))
    want = keyed(items, lambda f: http_key(f, string_ids))
    if set(got) != set(want):
        fail("%s as %s: keys differ: %d only in QGIS, %d only over HTTP"
             % (layer, role, len(set(got) - set(want)), len(set(want) - set(got))))
    fields = lyr.fields()
    for k in set(got) & set(want):
        if len(got[k]) != len(want[k]):
            fail("%s: key %r held by %d features in QGIS, %d over HTTP" % (layer, k, len(got[k]), len(want[k])))
            continue
        for qf, hf in zip(got[k], want[k]):
            compare_feature(layer, k if string_ids else "feature", qf, hf, fields)

    # bbox filters: the western half of the layer (it holds the westernmost
    # feature) and a small box at the first feature; each on a fresh layer so
    # QGIS asks the server.
    xs = [p[0] for f in items for p in flat_coords(f["geometry"]["coordinates"])]
    ys = [p[1] for f in items for p in flat_coords(f["geometry"]["coordinates"])]
    x0, y0 = flat_coords(items[0]["geometry"]["coordinates"])[0]
    boxes = [
        (min(xs), min(ys), (min(xs) + max(xs)) / 2, max(ys)),
        (x0 - 0.002, y0 - 0.002, x0 + 0.002, y0 + 0.002),
    ]
    for b in boxes:
        fresh = qgis.layer(layer, authcfg)
        req = QgsFeatureRequest().setFilterRect(QgsRectangle(*b))
        got_b = sorted(map(repr, (qgis_key(f, string_ids) for f in fresh.getFeatures(req))))
        want_b = sorted(map(repr, (http_key(f, string_ids) for f in server.items(layer, b))))
        if got_b != want_b:
            fail("%s as %s: bbox %r gives %d features in QGIS, %d over HTTP"
                 % (layer, role, b, len(got_b), len(want_b)))
        if not want_b:
            fail("%s: bbox %r selects nothing, a weak test" % (layer, b))
    print("%-8s %-20s %6d features  %.1f s" % (role, layer, len(feats), time.time() - t0), flush=True)
    return len(feats)


def render(qgis, authcfg, out_png):
    """The grids (green within the rules, red not) over the roads and rivers."""
    grids = qgis.layer("grids", authcfg)
    barriers = qgis.layer("barriers", authcfg)
    cats = []
    for value, colour, label in ((True, "#b8e0b0", "within the rules"), (False, "#f08080", "outside")):
        sym = QgsFillSymbol.createSimple({"color": colour, "outline_color": "#30503a", "outline_width": "0.3"})
        cats.append(QgsRendererCategory(value, sym, label))
    grids.setRenderer(QgsCategorizedSymbolRenderer("within_rules", cats))
    barriers.renderer().setSymbol(QgsLineSymbol.createSimple({"color": "#3060c0", "width": "0.6"}))
    settings = QgsMapSettings()
    settings.setLayers([barriers, grids])
    settings.setBackgroundColor(QColor("white"))
    settings.setOutputSize(QSize(1200, 900))
    settings.setDestinationCrs(grids.crs())
    extent = grids.extent()
    extent.scale(1.03)
    settings.setExtent(extent)
    job = QgsMapRendererSequentialJob(settings)
    job.start()
    job.waitForFinished()
    image = job.renderedImage()
    if not image.save(out_png, "PNG"):
        fail("could not save " + out_png)
    # The image shows the grids: most pixels painted, some of them red.
    painted = red = 0
    for y in range(0, image.height(), 4):
        for x in range(0, image.width(), 4):
            c = QColor(image.pixel(x, y))
            if (c.red(), c.green(), c.blue()) != (255, 255, 255):
                painted += 1
            if c.red() > 200 and c.green() < 160:
                red += 1
    total = (image.height() // 4) * (image.width() // 4)
    if painted < total // 4 or red == 0:
        fail("%s: %d of %d sampled pixels painted, %d red" % (out_png, painted, total, red))
    return {"png": out_png, "painted": painted, "red": red, "sampled": total}


def main():
    cfg = json.load(open(sys.argv[1]))
    t0 = time.time()
    QgsApplication.setPrefixPath("/usr", True)
    app = QgsApplication([], False)
    app.initQgis()
    if "OAPIF" not in QgsProviderRegistry.instance().providerList():
        raise SystemExit("QGIS has no OAPIF provider: install Debian's qgis-providers")
    qgis = Qgis(cfg["url"], cfg["dataset"])
    summary = {"roles": {}}
    for role, r in sorted(cfg["roles"].items()):
        server = Server(cfg["url"], cfg["dataset"], r["token"])
        authcfg = qgis.basic_config(role, r["token"])
        listed = server.collections()
        want = sorted("%s.%s" % (cfg["dataset"], l) for l in r["readable"])
        mine = [c for c in listed if c.startswith(cfg["dataset"] + ".")]
        if mine != want:
            fail("%s lists %r, expected %r" % (role, mine, want))
        features = sum(check_layer(qgis, server, role, l, authcfg) for l in r["readable"])
        for layer in r["private"]:
            lyr = qgis.layer(layer, authcfg)
            if lyr.isValid():
                fail("%s opens the private collection %s (%d features)" % (role, layer, lyr.featureCount()))
        image = render(qgis, authcfg, "%s/grids-%s.png" % (cfg["out"], role))
        summary["roles"][role] = {"collections": len(r["readable"]), "features": features, "image": image}
    summary["seconds"] = round(time.time() - t0, 1)
    summary["failures"] = len(FAILURES)
    print(json.dumps(summary), flush=True)
    app.exitQgis()
    sys.exit(1 if FAILURES else 0)


if __name__ == "__main__":
    main()
