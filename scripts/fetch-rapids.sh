#!/usr/bin/env bash
# Fetches the RAPIDS Accelerator for Apache Spark (com.nvidia:rapids-4-spark_2.13:26.08.1, classifier cuda12,
# about 1 GB) into Kiln's cache, for `spark-submit --jars` as NVIDIA documents. Never part of the default
# build. The jar's POM names a parent POM (rapids-4-spark-parent_2.13) that is not published, so Maven
# cannot read its descriptor and refuses to resolve it (dependency:get, dependency:copy and a project
# dependency all fail the same way). The workaround: a Maven repository of its own under Kiln's cache,
# holding a stand-in for that parent (coordinates only), used for this one download. The jar is
# self-contained; its transitive dependencies are not wanted. ~/.m2 is not touched. Prints the jar's path.
set -euo pipefail
VERSION="${KILN_RAPIDS_VERSION:-26.08.1}"
CLASSIFIER="${KILN_RAPIDS_CLASSIFIER:-cuda12}"
CACHE="${KILN_CACHE:-$HOME/.cache/kiln}/rapids"
JAR="$CACHE/rapids-4-spark_2.13-$VERSION-$CLASSIFIER.jar"
if [ -s "$JAR" ]; then
  echo "$JAR"
  exit 0
fi
mkdir -p "$CACHE/fetch"
cat > "$CACHE/fetch/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.kiln</groupId>
  <artifactId>kiln-fetch-rapids</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>com.nvidia</groupId>
      <artifactId>rapids-4-spark_2.13</artifactId>
      <version>$VERSION</version>
      <classifier>$CLASSIFIER</classifier>
    </dependency>
  </dependencies>
</project>
POM
REPO="$CACHE/m2"
PARENT="$REPO/com/nvidia/rapids-4-spark-parent_2.13/$VERSION"
mkdir -p "$PARENT"
cat > "$PARENT/rapids-4-spark-parent_2.13-$VERSION.pom" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>com.nvidia</groupId>
  <artifactId>rapids-4-spark-parent_2.13</artifactId>
  <version>$VERSION</version>
  <packaging>pom</packaging>
  <!-- Kiln's stand-in: the real parent POM is not published. -->
</project>
POM
echo "[kiln] fetching rapids-4-spark_2.13 $VERSION ($CLASSIFIER, about 1 GB) into $CACHE" >&2
mvn -q -B -Dmaven.repo.local="$REPO" -f "$CACHE/fetch/pom.xml" org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
  -DoutputDirectory="$CACHE" -DexcludeTransitive=true >&2
rm -rf "$REPO/com/nvidia/rapids-4-spark_2.13"  # the copy above is the one kept
test -s "$JAR" || { echo "[kiln] the RAPIDS jar did not arrive at $JAR" >&2; exit 1; }
echo "$JAR"
