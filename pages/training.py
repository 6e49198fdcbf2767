"""Train: the lab's classifier or autoencoder on MNIST, in a background process, live.

A thin view: widgets -> cnnviz.training.jobs (start, stop, resume, queue) -> cnnviz.training.runs /
cnnviz.views.train_view (what to show) -> render. The live panel is a fragment
that reruns when the run folder changes (widgets/watch); training itself never runs in this process.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from cnnviz.layers.arithmetic import InvalidLayerConfig
from cnnviz.page_list import page, page_path
from cnnviz.training import bottleneck, jobs, replay
from cnnviz.training.recipe import OPTIMIZERS, TrainConfig
from cnnviz.training.runs import ACTIVE_STATES, Run, RunState, get_run, list_runs
from cnnviz.views import train_view
from cnnviz.views.model_sources import checkpoint_upload_mb
from models import CheckpointError
from serving.routes import run_version_path
from widgets.browser_id import browser_id
from widgets.client import admin_check, log_teacher
from widgets.curves import curves
from widgets.map_grid import map_grid
from widgets.replay_player import replay_player
from widgets.watch import watch

md = train_view.escape_markdown  # anything a student typed (run names) or a message quoting it

POLL_SECONDS = 1.0
COMPARISON_POLL_SECONDS = 5.0  # the comparison's table: sizes take minutes each, a slow poll is enough
STATE_ICONS = {
    RunState.QUEUED: "⏳",
    RunState.RUNNING: "🏃",
    RunState.FINISHED: "✅",
    RunState.STOPPED: "⏹️",
    RunState.FAILED: "❌",
    RunState.INTERRUPTED: "⚠️",
}
DEFAULTS = TrainConfig()


def owner_id() -> str:
    return browser_id("train_owner")


def selected_run(owner: str) -> Run | None:
    """The run this page follows: chosen in this session or the URL, else this browser's latest."""
    run_id = st.session_state.get("train_run") or st.query_params.get("run")
    if run_id:
        try:
            return get_run(run_id)
        except KeyError:
            st.session_state.pop("train_run", None)
    mine = [r for r in list_runs() if r.owner == owner]
    active = [r for r in mine if r.state in ACTIVE_STATES]
    return (active or mine or [None])[-1]


def follow(run: Run) -> None:
    st.session_state.train_run = run.id
    st.query_params["run"] = run.id


def settings_form() -> TrainConfig | None:
    """The hyperparameter widgets; returns a valid config or shows why there is none."""
    model = st.radio("Model", ["classifier", "autoencoder"], horizontal=True, key="tr_model")
    left, middle, right = st.columns(3)
    with left:
        channels_text = st.text_input(
            "Channels per stage", ", ".join(map(str, DEFAULTS.channels)), key="tr_channels",
            help="One number per stage (convolution, residual blocks, 2x2 max pooling), e.g. 16, 32, 32.",
        )  # fmt: skip
        blocks = st.number_input("Residual blocks per stage", 0, 4, DEFAULTS.blocks_per_stage, key="tr_blocks")
        kernel = st.selectbox("Kernel size", [3, 5, 7], key="tr_kernel")
        dropout = st.slider("Dropout", 0.0, 0.5, DEFAULTS.dropout, 0.05, key="tr_dropout")
    with middle:
        epochs = st.number_input("Epochs", 1, 50, DEFAULTS.epochs, key="tr_epochs")
        batch_size = st.selectbox(
            "Batch size", [16, 32, 64, 128, 256, 512], index=3, key="tr_batch",
            help="Images per optimisation step. Bigger batches use the CPU better; the lab used 16.",
        )  # fmt: skip
        lr = st.number_input("Learning rate", 1e-5, 10.0, DEFAULTS.lr, format="%.4f", key="tr_lr")
        optimizer = st.selectbox("Optimizer", OPTIMIZERS, key="tr_optimizer")
    with right:
        seed = st.number_input("Seed", 0, 1_000_000, DEFAULTS.seed, key="tr_seed")
        train_images = st.number_input(
            "Training images (0 = all 48,000)", 0, 48_000, 0, step=1000, key="tr_images",
            help="Fewer images make a quick demonstration run.",
        )  # fmt: skip
    try:
        config = TrainConfig(
            model=model,
            channels=train_view.parse_channels(channels_text),
            blocks_per_stage=int(blocks),
            kernel_size=int(kernel),
            dropout=float(dropout),
            epochs=int(epochs),
            batch_size=int(batch_size),
            lr=float(lr),
            optimizer=optimizer,
            seed=int(seed),
            train_images=int(train_images),
        )
        summary = train_view.summarize_config(config)
    except InvalidLayerConfig as error:
        st.error(f"{error}" + (f" Fix: {error.fix}" if getattr(error, "fix", None) else ""))
        return None
    except ValueError as error:
        st.error(str(error))
        return None
    parameters, duration, size = st.columns(3)
    parameters.metric("Parameters", f"{summary.parameters:,}", help=summary.description)
    duration.metric(
        "Estimated time", train_view.format_seconds(summary.seconds),
        help="Training and validation on this server, from the model's multiply-adds; more when it is busy.",
    )  # fmt: skip
    size.metric("Checkpoint", f"{summary.checkpoint_bytes / 2**20:,.1f} MB" if summary.checkpoint_bytes else "-")
    if summary.warning:
        st.warning(summary.warning)
    if summary.refusal:
        st.error(md(summary.refusal))
        return None
    return config


def start(config: TrainConfig, owner: str) -> None:
    try:
        run = jobs.submit(config, owner=owner)
    except jobs.JobRefused as error:
        st.error(md(str(error)))
        return
    st.session_state.pop("train_offer", None)
    follow(run)


def start_controls(config: TrainConfig | None, owner: str) -> None:
    if st.button("▶️ Start training", type="primary", disabled=config is None, key="tr_start"):
        same = jobs.find_finished(config)
        if same is not None:
            st.session_state.train_offer = same.id
        else:
            start(config, owner)
    offer = st.session_state.get("train_offer")
    if offer and config is not None:
        try:
            same = get_run(offer)
        except KeyError:
            st.session_state.pop("train_offer")
            return
        if same.config != config:
            st.session_state.pop("train_offer")
            return
        st.info(f"A run with exactly these settings already finished: **{md(same.name)}**. Open it instead?")
        a, b = st.columns(2)
        if a.button("Open that run", key="tr_open_same"):
            st.session_state.pop("train_offer")
            follow(same)
            st.rerun()
        if b.button("Train again anyway", key="tr_again"):
            start(config, owner)
            st.rerun()


def control_buttons(run: Run, state: str, owner: str, admin: str | None) -> None:
    """Stop (active runs) or Resume (stopped, interrupted, failed) for whoever may control the run."""
    if not jobs.can_control(run, owner, admin):
        st.caption("This run belongs to another browser: only its owner or the teacher can stop it.")
        return
    try:
        if state in ACTIVE_STATES and st.button("⏹️ Stop", key=f"tr_stop_{run.id}"):
            jobs.stop(run, owner, admin)
            if run.owner != owner:
                log_teacher(f"stopped run {run.id}")
            st.toast("Stopping: the last checkpoint is kept.")
        resumable = state in (RunState.STOPPED, RunState.INTERRUPTED, RunState.FAILED) and run.checkpoint_path.exists()
        if resumable and st.button("▶️ Resume from the last checkpoint", key=f"tr_resume_{run.id}"):
            jobs.resume(run, owner, admin)
            if run.owner != owner:
                log_teacher(f"resumed run {run.id}")
            st.rerun()
    except jobs.JobRefused as error:
        st.error(md(str(error)))


def run_header(run: Run, status: dict) -> None:
    state = status.state
    st.subheader(f"{STATE_ICONS.get(state, '')} {md(run.name)}")
    message = status.message or ""
    text = f"**{state}**" + (f": {md(message)}" if message else "")
    if state in (RunState.FAILED, RunState.INTERRUPTED):
        st.warning(text)
    else:
        st.markdown(text)
    if state == RunState.QUEUED:
        position = jobs.queue_position(run)
        st.info(f"Waiting in the queue: place {position}. It starts by itself when the run before it ends.")


def run_curves(run: Run, records: list[dict]) -> None:
    series = [(run.name, records)]
    if run.config.model == "classifier":
        metrics = ("loss", "accuracy")
        curves([train_view.curves_chart(series, metric, "classifier") for metric in metrics], key=f"curves_{run.id}")
    else:
        curves(train_view.curves_chart(series, "loss", "autoencoder"), key=f"curves_{run.id}")
        samples = run.samples()
        if samples is not None:
            title = f"Fixed validation digits and their reconstructions after epoch {samples['epoch']}"
            map_grid(train_view.reconstructions_grid(samples, title), key=f"rec_{run.id}", panel_px=60)


def run_replay(run: Run, live: bool) -> None:
    """The replay: the first layer's kernels and the fixed digit's maps and prediction through training."""
    frames = replay.load_replay(run.path)
    if frames:
        st.markdown("**Replay: watch the first layer's filters form** (drag the slider, or press play)")
        replay_player(frames, key=f"replay_{run.id}", live=live)
    elif not live:
        st.caption("This run has no replay: it was trained before cnnviz kept one, or stopped before its first step.")


def progress_bar(run: Run, records: list[dict]) -> None:
    progress = train_view.run_progress(run, records)
    speed = f"{progress.images_per_s:,.0f} images/s" if progress.images_per_s else "starting ..."
    if progress.fraction >= 1.0:
        seconds = next((r["train_seconds"] for r in reversed(records) if "train_seconds" in r), None)
        spent = train_view.format_seconds(seconds)
        text = f"all {run.config.epochs} epochs done · {spent} of training · last {speed}"
    else:
        text = (
            f"epoch {progress.epoch:.2f} of {run.config.epochs} · {speed} · "
            f"about {train_view.format_seconds(progress.eta_s)} left"
        )
    st.progress(min(progress.fraction, 1.0), text=text)
    reached = train_view.milestone_text(records)
    if reached:
        st.caption(reached)


@st.fragment
def live_panel(run_id: str, owner: str, admin: str | None) -> None:
    """The run while it is queued or running, drawn again whenever its folder changes; a full rerun once it ends.

    widgets/watch asks the server every POLL_SECONDS whether the run changed and reruns this fragment only
    then: a rerun per second cost the server ~14 ms per second per watching student.
    """
    try:
        run = get_run(run_id)
    except KeyError:
        st.rerun()
    version = jobs.live_version(run)  # before reading: a change made while drawing shows up as a new version
    status = run.status
    state = status.state
    if state not in ACTIVE_STATES:
        st.rerun()  # finished, stopped, failed: show the static results instead
    # No queue work here: the queue workers take the next run by themselves.
    run_header(run, status)
    control_buttons(run, state, owner, admin)
    records = run.metrics()
    progress_bar(run, records)
    run_curves(run, records)
    run_replay(run, live=True)
    watch(run_version_path(run.id), version, key=f"tr_watch_{run.id}", poll_s=POLL_SECONDS)


def results_panel(run: Run, owner: str, admin: str | None) -> None:
    """A run that is not training: its curves, test results, and what can be done with it."""
    status = jobs.refresh(run)
    run_header(run, status)
    control_buttons(run, status.state, owner, admin)
    records = run.metrics()
    progress_bar(run, records)
    run_curves(run, records)
    run_replay(run, live=False)
    results = run.results()
    if results is not None:
        if run.config.model == "classifier":
            st.metric("Test accuracy", f"{results['test_accuracy']:.2%}")
            st.plotly_chart(train_view.confusion_figure(results["confusion"]), key=f"conf_{run.id}")
            gallery = train_view.misclassified_grid(results)
            if gallery is not None:
                map_grid(gallery, key=f"wrong_{run.id}", panel_px=60)
        else:
            st.metric("Test reconstruction error (MSE per pixel)", f"{results['test_loss']:.4f}")
            samples = {"images": results["images"][:8], "reconstructions": results["reconstructions"][:8]}
            grid = train_view.reconstructions_grid(samples, "Test digits and their reconstructions")
            map_grid(grid, key=f"test_rec_{run.id}", panel_px=60)
    if run.checkpoint_path.exists():
        st.download_button(
            "⬇️ Download the checkpoint",
            data=run.checkpoint_path.read_bytes,  # read when clicked, not on every rerun for every viewer
            file_name=f"{run.id}.pt",
            mime="application/octet-stream",
            key=f"tr_download_{run.id}",
        )


def compare_settings_table(picked: list[Run]) -> None:
    """The chosen runs' settings and results side by side; the rows where they differ marked ≠ and shaded."""
    comparison = train_view.compare_settings(picked)
    records = comparison.as_records()
    if len(picked) > 1:
        records = sorted(records, key=lambda row: not row["differs"])  # stable: what differs first, in order
    table = pd.DataFrame(records)
    styled = table.style.apply(lambda row: [train_view.DIFFERS_STYLE if row["differs"] else ""] * len(row), axis=1)
    st.caption("Settings side by side: ≠ marks what differs. ⭐: a run the teacher showed to the class.")
    st.dataframe(styled, hide_index=True, width="stretch")


def past_runs(owner: str, admin: str | None) -> None:
    runs = list_runs()
    if not runs:
        st.caption("No runs yet.")
        return
    st.dataframe([train_view.run_row(r) for r in runs], hide_index=True, width="stretch")
    names = {r.id: ("⭐ " if r.shown_to_class else "") + r.name for r in runs}
    shown = [r.id for r in runs if r.shown_to_class]
    if shown and st.button("⭐ Add the runs the teacher showed", key="tr_add_shown"):
        # before the multiselect is drawn: a widget's value may only be set ahead of it
        st.session_state["tr_compare"] = list(dict.fromkeys([*st.session_state.get("tr_compare", []), *shown]))
    chosen = st.multiselect("Compare runs", list(names), format_func=names.get, key="tr_compare")
    if chosen:
        compare_settings_table([get_run(i) for i in chosen])
        picked = [get_run(i) for i in chosen]
        series = [(r.name, r.metrics()) for r in picked]
        model = picked[0].config.model
        if {r.config.model for r in picked} != {model}:
            st.warning("Compare runs of one kind at a time: classifier and autoencoder losses differ.")
        else:
            metric = "accuracy" if model == "classifier" else "loss"
            curves(train_view.curves_chart(series, metric, model), key="tr_compare_chart")
    target_id = st.selectbox("Run", list(names), format_func=names.get, key="tr_manage")
    target = get_run(target_id)
    if admin:  # teacher_box passes on only a token its guard accepted
        marked = st.checkbox("⭐ Shown to the class", value=target.shown_to_class, key=f"tr_shown_{target_id}")
        if marked != target.shown_to_class:
            try:
                target.mark_shown(marked)
                log_teacher(f"{'showed' if marked else 'unshowed'} run {target.id} to the class")
                st.rerun()
            except OSError as error:
                st.error(md(str(error)))
    a, b, c = st.columns([2, 1, 1])
    new_name = a.text_input("New name", value=target.name, key=f"tr_name_{target_id}")
    if b.button("Open", key="tr_open"):
        follow(target)
        st.rerun()
    if c.button("Rename", key="tr_rename"):
        if jobs.can_control(target, owner, admin):
            try:
                target.rename(new_name)
                st.rerun()
            except (ValueError, OSError) as error:
                st.error(md(str(error)))
        else:
            st.error("Only the run's owner or the teacher can rename it.")
    if st.button("🗑️ Delete this run", key="tr_delete"):
        try:
            jobs.delete(target, owner, admin)
            if target.owner != owner:
                log_teacher(f"deleted run {target.id}")
            st.session_state.pop("train_run", None)
            st.query_params.pop("run", None)
            st.rerun()
        except (jobs.JobRefused, OSError) as error:
            st.error(md(str(error)))


def check_upload() -> None:
    upload = st.file_uploader(
        "Check a checkpoint file", type=["pt", "pth"], key="tr_upload", max_upload_size=checkpoint_upload_mb()
    )
    if upload is None:
        return
    try:
        st.success(train_view.describe_checkpoint(upload.getvalue()))
    except CheckpointError as error:
        st.error(f"This file was refused: {md(str(error))}")


def comparison_form(owner: str) -> None:
    """The lab's bottleneck comparison in one go: the CLI's autoencoders, through the queue and its limits."""
    st.markdown(
        "Autoencoders that differ only in their bottleneck: four stages shrink the digit to 1 x 1, so a code of "
        "*n* values is *n* channels. Each size is a run of its own; they train one after another."
    )
    left, middle, right = st.columns([3, 1, 1])
    sizes = left.multiselect(
        "Code sizes (values per digit)", train_view.COMPARISON_SIZE_CHOICES, default=list(bottleneck.SIZES),
        key="tr_bn_sizes", help="One autoencoder per size; the 2-value one has a latent plane with no projection.",
    )  # fmt: skip
    epochs = middle.number_input("Epochs per size", 1, 20, bottleneck.EPOCHS, key="tr_bn_epochs")
    images = right.number_input(
        "Training images per size (0 = all 48,000)", 0, 48_000, 0, step=1000, key="tr_bn_images",
        help="Fewer images make a quick demonstration.",
    )  # fmt: skip
    base = bottleneck.base_config(int(epochs), int(images))
    if not sizes:
        st.info("Pick at least one code size.")
        return
    try:
        seconds = bottleneck.comparison_seconds(sizes, base)
    except (ValueError, CheckpointError) as error:
        st.error(md(str(error)))
        return
    limit = jobs.Limits.from_env().max_run_minutes
    st.caption(
        f"{len(sizes)} runs, about {train_view.format_seconds(seconds)} of training here in all. In the queue the "
        f"comparison counts as one request of yours (like one run waiting), and its runs together may take at "
        f"most {limit} minutes, as long as one run may."
    )
    if st.button("▶️ Train the comparison", key="tr_bn_start"):
        try:
            runs = bottleneck.submit_comparison(sizes, base, owner)
        except (jobs.JobRefused, ValueError) as error:
            st.error(md(str(error)))
            return
        follow(runs[0])
        st.success(f"Queued {len(runs)} autoencoders ({', '.join(map(str, sorted(sizes)))} values).")


def comparison_table(entries: list[bottleneck.ComparisonRun], owner: str, admin: str | None) -> None:
    st.markdown(f"**Your bottleneck comparison:** {train_view.comparison_summary(entries)}")
    st.dataframe(train_view.comparison_rows(entries), hide_index=True, width="stretch")
    st.page_link(
        page_path("inside"),
        label="Compare them: Inside the network, section 🍾 Bottleneck sizes",
        icon=page("inside").icon,
    )
    active = [e.run for e in entries if e.state in ACTIVE_STATES]
    if active and st.button("⏹️ Stop the comparison", key="tr_bn_stop"):
        try:
            for run in active:
                jobs.stop(run, owner, admin)
        except jobs.JobRefused as error:
            st.error(md(str(error)))
        st.rerun()


@st.fragment(run_every=COMPARISON_POLL_SECONDS)
def live_comparison(owner: str, admin: str | None) -> None:
    """Polls this browser's comparison while some of its sizes wait or train; a full rerun once all ended."""
    entries = bottleneck.comparison_progress(owner)
    if not any(e.state in ACTIVE_STATES for e in entries):
        st.rerun()
    comparison_table(entries, owner, admin)


def comparison_panel(owner: str, admin: str | None) -> None:
    entries = bottleneck.comparison_progress(owner)
    if any(e.state in ACTIVE_STATES for e in entries):
        live_comparison(owner, admin)
    elif entries:
        comparison_table(entries, owner, admin)


def teacher_box() -> str | None:
    """The admin token, a warning on an unencrypted connection, and the end-of-class button."""
    with st.sidebar.expander("Teacher"):
        insecure = train_view.insecure_connection_warning(st.context.url, st.context.headers.get("X-Forwarded-Proto"))
        if insecure:
            st.warning(insecure)
        typed = st.text_input("Admin token", type="password", key="tr_admin") or None
        check = admin_check(typed)
        admin = typed if check.admin else None  # only a token the guard accepted reaches the queue's calls
        if typed and not check.admin:
            st.caption(check.message())
        elif admin and st.button("⏹️ Stop every run (end of class)", key="tr_stop_all"):
            try:
                count = jobs.stop_all(admin)
                log_teacher(f"stopped every run ({count})")
                st.success(f"Asked {count} runs to stop or cancelled them; checkpoints are kept.")
            except jobs.JobRefused as error:
                st.error(md(str(error)))
    return admin


st.title("Train the lab's networks")
st.markdown(
    "Training runs in its own background process at low priority: the rest of the app stays fast, "
    "and closing this tab or reloading loses nothing. One run trains at a time; others wait in a queue."
)
owner = owner_id()
admin = teacher_box()

with st.expander("New run", expanded=True):
    config = settings_form()
    start_controls(config, owner)
with st.expander("Bottleneck comparison: several autoencoders in one go"):
    comparison_form(owner)
comparison_panel(owner, admin)

current = selected_run(owner)
if current is None:
    st.info("Start a run above: its progress appears here.")
elif jobs.refresh(current).state in ACTIVE_STATES:
    live_panel(current.id, owner, admin)
else:
    results_panel(current, owner, admin)

st.divider()
st.subheader("Past runs")
past_runs(owner, admin)
check_upload()
