#!/usr/bin/env python3
"""Writes the bad-input corpus of formats other than GeoJSON: broken
Shapefiles, GeoPackages and spreadsheets. Each file breaks one thing; wangge
must refuse it with one line naming the file and the reason (or the row).

Needs GDAL's ogr2ogr (Debian's gdal-bin) to make the Shapefiles, the
GeoPackages and one workbook; everything else is the Python standard library.
MANIFEST.tsv lists file, layer, expected words and the feature index (or -),
as the GeoJSON corpus one directory up does.
"""
import csv, io, json, os, shutil, sqlite3, subprocess, tempfile, zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
rows = []
tmp = tempfile.mkdtemp()

def row(name, layer, expect, feature="-"):
    rows.append((name, layer, expect, str(feature)))

def ogr(*args):
    subprocess.run(["ogr2ogr", *args], check=True)

AREAS = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "properties": {"code": "341102001001", "name": "花园街社区"},
     "geometry": {"type": "Polygon", "coordinates": [[[118.30, 32.30], [118.31, 32.30], [118.31, 32.31], [118.30, 32.31], [118.30, 32.30]]]}},
    {"type": "Feature", "properties": {"code": "341102001002", "name": "琅琊山社区"},
     "geometry": {"type": "Polygon", "coordinates": [[[118.32, 32.30], [118.33, 32.30], [118.33, 32.31], [118.32, 32.31], [118.32, 32.30]]]}},
]}
src = os.path.join(tmp, "areas.geojson")
with open(src, "w") as f:
    json.dump(AREAS, f, ensure_ascii=False)

def shapefile(stem, encoding="GBK"):
    """A Shapefile of the two areas in EPSG:4549, with GBK text."""
    ogr("-f", "ESRI Shapefile", "-t_srs", "EPSG:4549", "-lco", f"ENCODING={encoding}", os.path.join(tmp, stem + ".shp"), src)
    return {ext: open(os.path.join(tmp, f"{stem}.{ext}"), "rb").read() for ext in ["shp", "shx", "dbf", "prj", "cpg"]}

def put(stem, parts, skip=()):
    for ext, data in parts.items():
        if ext not in skip:
            with open(os.path.join(HERE, f"{stem}.{ext}"), "wb") as f:
                f.write(data)

base = shapefile("base")
put("shp_no_dbf", base, skip=("dbf",)); row("shp_no_dbf.shp", "areas", "no .dbf beside it")
put("shp_no_shx", base, skip=("shx",)); row("shp_no_shx.shp", "areas", "no .shx beside it")
put("shp_bad_prj", dict(base, prj=b'PROJCS["made up",GEOGCS["nowhere"')); row("shp_bad_prj.shp", "areas", ".prj cannot be used")
put("shp_gbk_said_utf8", dict(base, cpg=b"UTF-8")); row("shp_gbk_said_utf8.shp", "areas", "is not valid UTF-8 text")
put("shp_gbk_no_cpg", base, skip=("cpg",)); row("shp_gbk_no_cpg.shp", "areas", "give --encoding")
put("shp_unknown_cpg", dict(base, cpg=b"KLINGON")); row("shp_unknown_cpg.shp", "areas", "unknown text encoding")
put("shp_truncated", dict(base, shp=base["shp"][: len(base["shp"]) // 2])); row("shp_truncated.shp", "areas", "shp_truncated.shp, record 0")
with zipfile.ZipFile(os.path.join(HERE, "zip_two_layers.zip"), "w") as z:
    for stem in ["a", "b"]:
        for ext, data in base.items():
            z.writestr(f"{stem}.{ext}", data)
row("zip_two_layers.zip", "areas", "holds 2 Shapefiles")
with zipfile.ZipFile(os.path.join(HERE, "zip_no_shp.zip"), "w") as z:
    z.writestr("readme.txt", "no layer here")
row("zip_no_shp.zip", "areas", "holds no .shp")

def gpkg(name, *more):
    path = os.path.join(HERE, name)
    if os.path.exists(path):
        os.remove(path)
    ogr("-f", "GPKG", "-lco", "SPATIAL_INDEX=NO", "-nln", "areas", path, src)
    for layer in more:
        ogr("-update", "-lco", "SPATIAL_INDEX=NO", "-nln", layer, path, src)
    return path

gpkg("gpkg_two_layers.gpkg", "villages"); row("gpkg_two_layers.gpkg", "areas", "name one with --in-layer")
db = sqlite3.connect(gpkg("gpkg_missing_srs.gpkg"))
db.execute("UPDATE gpkg_geometry_columns SET srs_id = 777"); db.commit(); db.execute("VACUUM"); db.close()
row("gpkg_missing_srs.gpkg", "areas", "SRS id 777 is not in gpkg_spatial_ref_sys")
db = sqlite3.connect(gpkg("gpkg_unknown_srs.gpkg"))
db.execute("INSERT INTO gpkg_spatial_ref_sys VALUES ('site grid', 990, 'ACME', 1, 'LOCAL_CS[\"site grid\",UNIT[\"metre\",1]]', NULL)")
db.execute("UPDATE gpkg_geometry_columns SET srs_id = 990"); db.commit(); db.execute("VACUUM"); db.close()
row("gpkg_unknown_srs.gpkg", "areas", "SRS 990 (ACME 1) cannot be used")
db = sqlite3.connect(gpkg("gpkg_bad_wkb.gpkg"))
db.execute("UPDATE areas SET geom = substr(geom, 1, 40) WHERE fid = 2"); db.commit(); db.execute("VACUUM"); db.close()
row("gpkg_bad_wkb.gpkg", "areas", "the geometry's WKB is invalid", 1)
with open(os.path.join(HERE, "gpkg_not_sqlite.gpkg"), "wb") as f:
    f.write(b"PK\x03\x04 this is not a database" * 20)
row("gpkg_not_sqlite.gpkg", "areas", "GeoPackage cannot be read")

# Spreadsheets.
def write_csv(name, lines, encoding="utf-8"):
    with open(os.path.join(HERE, name), "w", encoding=encoding, newline="") as f:
        csv.writer(f).writerows(lines)

HEAD = ["户号", "经度", "纬度", "户数"]
write_csv("csv_text_in_lon.csv", [HEAD, ["H1", "118.31", "32.30", "3"], ["H2", "东经118度", "32.30", "2"]])
row("csv_text_in_lon.csv", "households", 'row 3: the longitude column "经度" holds "东经118度", not a number')
write_csv("csv_only_empty_rows.csv", [HEAD, ["", "", "", ""], [], ["", "", "", ""]])
row("csv_only_empty_rows.csv", "households", "no data rows below the header on row 1")
write_csv("csv_no_coordinate_columns.csv", [["户号", "地址", "户数"], ["H1", "琅琊路1号", "3"]])
row("csv_no_coordinate_columns.csv", "households", "names both a longitude column")
write_csv("csv_gbk.csv", [HEAD, ["H1", "118.31", "32.30", "3"], ["张三家", "118.32", "32.31", "2"]], encoding="gbk")
row("csv_gbk.csv", "households", "give --encoding")

# A workbook of text cells (GDAL writes untyped CSV columns as text) with
# an empty row and a latitude that is not a number.
wb_src = os.path.join(tmp, "list.csv")
with open(wb_src, "w", newline="") as f:
    csv.writer(f).writerows([HEAD, ["H1", "118.31", "32.30", "3"], ["", "", "", ""], ["H2", "118.32", "北纬32度", "2"]])
path = os.path.join(HERE, "xlsx_text_in_lat.xlsx")
if os.path.exists(path):
    os.remove(path)
ogr("-f", "XLSX", path, wb_src)
row("xlsx_text_in_lat.xlsx", "households", 'row 4: the latitude column "纬度" holds "北纬32度", not a number')

def xlsx(name, cells, merges):
    """A minimal workbook: one sheet of inline strings and numbers, with merged ranges."""
    def cell(ref, v):
        if isinstance(v, (int, float)):
            return f'<c r="{ref}"><v>{v}</v></c>'
        return f'<c r="{ref}" t="inlineStr"><is><t>{v}</t></is></c>'
    sheet_rows = "".join(
        f'<row r="{r + 1}">' + "".join(cell(f"{chr(65 + c)}{r + 1}", v) for c, v in enumerate(vals) if v is not None) + "</row>"
        for r, vals in enumerate(cells))
    merge = "".join(f'<mergeCell ref="{m}"/>' for m in merges)
    sheet = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
             '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
             f'<sheetData>{sheet_rows}</sheetData><mergeCells count="{len(merges)}">{merge}</mergeCells></worksheet>')
    files = {
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
        "_rels/.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="住户" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": sheet,
    }
    with zipfile.ZipFile(os.path.join(HERE, name), "w") as z:
        for n, text in files.items():
            z.writestr(n, text)

# A title merged over the columns, then one header cell "经纬度" merged over
# both coordinate columns: nothing says which is the longitude.
xlsx("xlsx_merged_headers.xlsx",
     [["琅琊区住户名单", None, None, None], ["户号", "经纬度", None, "户数"], ["H1", 118.31, 32.30, 3]],
     ["A1:D1", "B2:C2"])
row("xlsx_merged_headers.xlsx", "households", "names both a longitude column")
with open(os.path.join(HERE, "xlsx_not_a_workbook.xlsx"), "wb") as f:
    f.write(b"\xd0\xcf\x11\xe0 not a workbook at all" * 10)
row("xlsx_not_a_workbook.xlsx", "households", "spreadsheet cannot be read")

shutil.rmtree(tmp)
with open(os.path.join(HERE, "MANIFEST.tsv"), "w") as f:
    f.write("file\tlayer\texpect\tfeature\n")
    for r in rows:
        f.write("\t".join(r) + "\n")
print(len(rows), "bad inputs")
