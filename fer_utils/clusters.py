"""Do emotions form clusters? Embeddings (UMAP, t-SNE) and numbers for how well they separate.

Yang & Chen judge ES-MAPs against raw pixels by looking at UMAP and t-SNE plots. Pictures of a
2-D embedding depend on its settings, so the course adds numbers, computed the same way for
every representation:

* :func:`separation` — silhouette score of the emotion labels and k-nearest-neighbour
  accuracy (cross-validated), in the original feature space and in the 2-D embedding,
  beside the accuracy of always guessing the most frequent class;
* :func:`linear_probe` — PCA + logistic regression fitted on one part and scored on another,
  the sanity baseline for any learned representation.
"""
from __future__ import annotations

import numpy as np

from fer_utils.dataset import CLASS_NAMES
from fer_utils.metrics import classification_metrics
from fer_utils.viz import CLASS_COLORS


def embed(features: np.ndarray, method: str = "umap", *, seed: int = 0,
          pca: int | None = 50) -> np.ndarray:
    """2-D embedding of ``(N, D)`` features (after PCA to ``pca`` dimensions when D is larger).

    ``method`` is ``"umap"`` (umap-learn, 15 neighbours) or ``"tsne"`` (scikit-learn,
    perplexity 30, PCA initialisation).
    """
    x = reduce(features, pca, seed)
    if method == "umap":
        import warnings

        import umap

        with warnings.catch_warnings():  # n_jobs is 1 when a seed is set: said, and known
            warnings.simplefilter("ignore")
            return umap.UMAP(n_neighbors=15, min_dist=0.1, random_state=seed).fit_transform(x)
    if method == "tsne":
        from sklearn.manifold import TSNE

        return TSNE(n_components=2, perplexity=min(30, (len(x) - 1) / 3), init="pca",
                    random_state=seed).fit_transform(x)
    raise ValueError(f"unknown embedding {method!r}; choose 'umap' or 'tsne'")


def reduce(features: np.ndarray, pca: int | None = 50, seed: int = 0) -> np.ndarray:
    """Features ``(N, ...)`` flattened to ``(N, D)`` float32, and projected on their first
    ``pca`` principal components when D and N are both larger (the space :func:`embed` starts
    from, and the "PCA-50" space of Chapter 5)."""
    x = np.asarray(features, np.float32).reshape(len(features), -1)
    if pca and x.shape[1] > pca and len(x) > pca:
        from sklearn.decomposition import PCA

        x = PCA(n_components=pca, random_state=seed).fit_transform(x)
    return x


def separation(x: np.ndarray, labels: np.ndarray, *, k: int = 15, folds: int = 5,
               seed: int = 0) -> dict:
    """How well ``labels`` separate in the space ``x`` (N, D).

    Returns ``silhouette`` (−1…1; 0 = no cluster structure), ``knn_accuracy`` (a k-NN
    classifier, ``folds``-fold stratified cross-validation) and ``chance`` (share of the
    most frequent label).
    """
    from sklearn.metrics import silhouette_score
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    x = np.asarray(x, np.float32).reshape(len(x), -1)
    labels = np.asarray(labels)
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    knn = cross_val_score(KNeighborsClassifier(n_neighbors=k), x, labels, cv=cv).mean()
    return {"silhouette": float(silhouette_score(x, labels, random_state=seed,
                                                 sample_size=min(len(x), 5000))),
            "knn_accuracy": float(knn),
            "chance": float(np.bincount(labels).max() / len(labels)),
            "n": int(len(x))}


def linear_probe(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
                 y_test: np.ndarray, *, pca: int = 100, seed: int = 0) -> dict:
    """Standardise → PCA(``pca``) → multinomial logistic regression; metrics on the test part."""
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    flat = lambda a: np.asarray(a, np.float32).reshape(len(a), -1)
    model = make_pipeline(StandardScaler(), PCA(n_components=pca, random_state=seed),
                          LogisticRegression(max_iter=2000))
    model.fit(flat(x_train), y_train)
    pred = model.predict(flat(x_test))
    return classification_metrics(np.asarray(y_test), pred, CLASS_NAMES)


def plot_embeddings(panels: dict, labels: np.ndarray, *, scores: dict | None = None,
                    class_names=None, point_size: float = 3.0):
    """A row of 2-D embeddings (``{title: (N, 2)}``) coloured by emotion, with their scores."""
    import matplotlib.pyplot as plt

    names = list(class_names or CLASS_NAMES)
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4.2), squeeze=False)
    for ax, (title, xy) in zip(axes[0], panels.items()):
        for k, name in enumerate(names):
            m = labels == k
            ax.scatter(xy[m, 0], xy[m, 1], s=point_size, color=CLASS_COLORS[name], label=name,
                       alpha=0.7, linewidths=0)
        s = (scores or {}).get(title)
        if s:
            title += (f"\nsilhouette {s['silhouette']:.3f}, "
                      f"{s.get('k', 15)}-NN {100 * s['knn_accuracy']:.1f} %")
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0][-1].legend(markerscale=4, fontsize=8, loc="center left", bbox_to_anchor=(1, 0.5))
    fig.tight_layout()
    return fig
