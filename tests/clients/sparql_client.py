"""Queries a SPARQL endpoint with rdflib's SPARQL store, as a third-party client would.

Usage: sparql_client.py ENDPOINT METHOD   (METHOD: GET or POST_FORM)
Prints the answers as one JSON object.
"""
import json
import sys

from rdflib import Graph
from rdflib.plugins.stores.sparqlstore import SPARQLStore

endpoint, method = sys.argv[1], sys.argv[2]
graph = Graph(store=SPARQLStore(endpoint, method=method))
prefix = "PREFIX schema: <http://schema.org/> "
names = [
    str(row[0])
    for row in graph.query(
        prefix + "SELECT ?name WHERE { ?w a schema:Person ; schema:name ?name } ORDER BY ?name"
    )
]
emails = [
    str(row[0])
    for row in graph.query(prefix + "SELECT ?e WHERE { ?w a schema:Person ; schema:email ?e }")
]
ask = graph.query("ASK { ?s ?p ?o }").askAnswer
coops = sorted(
    str(o)
    for (_, _, o) in graph.query(
        prefix + "CONSTRUCT { ?c schema:name ?n } WHERE { ?c a schema:Organization ; schema:name ?n }"
    )
)
print(json.dumps({"names": names, "emails": emails, "ask": bool(ask), "coops": coops}))
