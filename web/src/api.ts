// JSON API client for /api/v1: session cookie + X-CSRF-Token on every write.

export const API = '/api/v1';

export class ApiError extends Error {
  constructor(public status: number, message: string, public body?: unknown) {
    super(message);
  }
}

export interface Me {
  login: string;
  display_name: string;
  role: Role;
  agency: string | null;
  must_change_password: boolean;
  csrf_token: string;
}

export type Role = 'administrator' | 'analyst' | 'commander' | 'district_inspector' | 'agency_executor' | 'viewer';

let csrf = '';
let onUnauthorized: () => void = () => {};

export function setCsrf(token: string): void {
  csrf = token;
}
export function setUnauthorizedHandler(fn: () => void): void {
  onUnauthorized = fn;
}

export function qs(params: Record<string, string | number | boolean | null | undefined>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === null || v === undefined || v === '') continue;
    u.set(k, String(v));
  }
  const s = u.toString();
  return s ? `?${s}` : '';
}

export interface RequestOptions {
  method?: string;
  json?: unknown;
  form?: FormData;
  /** A raw body (e.g. a file as it is) with its Content-Type. */
  body?: { data: BodyInit; type: string };
  /** Do not send to login on 401 (the login and setup calls themselves). */
  noRedirect?: boolean;
  signal?: AbortSignal;
  /** The Accept header (JSON unless a file is asked for). */
  accept?: string;
  /** The version the change is made on (If-Match): the server answers 409 if it changed since. */
  ifMatch?: string;
}

export async function request(path: string, opts: RequestOptions = {}): Promise<Response> {
  const method = opts.method ?? (opts.json !== undefined || opts.form || opts.body ? 'POST' : 'GET');
  const headers: Record<string, string> = { Accept: opts.accept ?? 'application/json' };
  let body: BodyInit | undefined;
  if (opts.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.json);
  } else if (opts.form) {
    body = opts.form;
  } else if (opts.body) {
    headers['Content-Type'] = opts.body.type;
    body = opts.body.data;
  }
  if (method !== 'GET' && method !== 'HEAD' && csrf) headers['X-CSRF-Token'] = csrf;
  if (opts.ifMatch) headers['If-Match'] = opts.ifMatch;
  const res = await fetch(API + path, { method, headers, body, credentials: 'same-origin', signal: opts.signal });
  if (!res.ok) {
    let message = res.statusText;
    let parsed: unknown;
    try {
      const text = await res.text();
      try {
        parsed = JSON.parse(text);
        if (parsed && typeof parsed === 'object' && 'error' in parsed) message = String((parsed as { error: unknown }).error);
      } catch {
        if (text) message = text.slice(0, 300);
      }
    } catch {
      /* body unreadable */
    }
    if (res.status === 401 && !opts.noRedirect) onUnauthorized();
    throw new ApiError(res.status, message, parsed);
  }
  return res;
}

export async function getJson<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const res = await request(path, opts);
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export async function postJson<T>(path: string, json: unknown, opts: RequestOptions = {}): Promise<T> {
  return getJson<T>(path, { ...opts, method: opts.method ?? 'POST', json });
}

export async function getBinary(path: string, signal?: AbortSignal): Promise<ArrayBuffer> {
  const res = await request(path, { signal });
  return res.arrayBuffer();
}

// ---- Types of the contract ----

export interface Territory {
  name: string;
  time_zone: string;
  has_boundary: boolean;
  districts: number;
  incidents: number;
}

export interface Stats {
  territory: string;
  total: number;
  by_category: { category: string; count: number }[];
  by_month: { month: string; count: number }[];
  by_district: { district: string | null; count: number }[];
}

export interface TimeProfile {
  territory: string;
  time_zone: string;
  incidents: number;
  weekdays: string[];
  hour_weekday: number[][];
  hour_unknown_by_weekday: number[];
  not_placed: number;
  monthly: { month: string; count: number }[];
}

export interface CompstatCell {
  current: number;
  previous: number;
  change_percent: number | null;
  p_value: number | null;
  significant: boolean;
}
export interface Period {
  first: string;
  last: string;
}
export type PeriodKey = 'week_to_date' | 'last_28_days' | 'year_to_date';
export interface Compstat {
  territory: string;
  date: string;
  alpha: number;
  periods: Record<PeriodKey, Period[]>;
  rows: ({ district: string | null; category: string | null } & Record<PeriodKey, CompstatCell>)[];
}

export interface KnoxSpatialBand {
  kind: 'same' | 'within' | 'beyond';
  from_m: number;
  to_m: number | null;
}
export interface KnoxTemporalBand {
  kind: 'within' | 'beyond';
  from_days: number;
  to_days: number | null;
}
export interface KnoxCell {
  observed: number;
  mean_expected: number;
  min_expected: number;
  max_expected: number;
  /** Observed ÷ mean expected; null when nothing is expected. */
  knox_ratio: number | null;
  p_value: number;
  /** Significant (p ≤ significance) and meaningful (ratio ≥ meaningful_ratio). */
  notable: boolean;
}
export interface KnoxParams {
  spatial_bandwidth_m: number;
  spatial_bands: number;
  temporal_bandwidth_days: number;
  temporal_bands: number;
  metric: 'manhattan' | 'euclidean';
  permutations: number;
  seed: number;
  significance: number;
  meaningful_ratio: number;
}
export interface KnoxSummary {
  near_repeats: { row: number; up_to_column: number }[];
  strongest_near_repeat: { row: number; column: number; knox_ratio: number } | null;
  repeat_up_to_column: number | null;
  strongest_repeat: { column: number; knox_ratio: number } | null;
  /** The findings in English (the UI builds its own sentences from the fields above). */
  text: string;
}
/** `GET /territories/{name}/near-repeat`: the Knox table, rows = spatial bands, columns = temporal bands. */
export interface NearRepeat {
  events: number;
  pairs: number;
  left_out: number;
  params: KnoxParams;
  spatial_bands: KnoxSpatialBand[];
  temporal_bands: KnoxTemporalBand[];
  cells: KnoxCell[][];
  summary: KnoxSummary;
}

export interface Incident {
  id: number;
  external_id: string | null;
  category: string;
  subcategory: string | null;
  occurred_from: string;
  occurred_to: string;
  precision: string;
  lat: number | null;
  lon: number | null;
  district: string | null;
  premises: string | null;
}

export interface ImportReport {
  status: 'imported' | 'already_imported' | 'checked' | 'rejected';
  file: string;
  rows_read: number;
  rows_valid: number;
  imported: number;
  identical_in_file: number;
  already_present: number;
  rejected: number;
  districts_created: number;
  batch: number | string | null;
  rejects: { line: number; field: string; value: string | null; reason: string }[];
  rejects_total: number;
}

export interface AdminUser {
  login: string;
  display_name: string;
  role: Role;
  agency: string | null;
  state: 'active' | 'disabled';
  locked_until: string | null;
  must_change_password: boolean;
  scopes: { territory: string; district: string | null }[];
  sessions: number;
}

export interface AdminSession {
  id: string | number;
  login: string;
  created_at: string;
  expires_at: string;
  origin: string | null;
  current?: boolean;
}

export interface AuditEntry {
  seq: number;
  at: string;
  actor: string;
  origin: string | null;
  action: string;
  object: string | null;
  detail: unknown;
  purpose: string | null;
}

export interface AuditPage {
  entries: AuditEntry[];
  next_before: number | null;
}

export interface AuditVerify {
  ok: boolean;
  entries: number;
  head: string | null;
  break: { seq: number; reason: string } | null;
}

// ---- Forecasts ----

export type ForecastModel = 'naive' | 'rolling-kde' | 'prospective' | 'sepp';
export type ForecastHorizon = 'shift' | 'day' | 'week';

/** One selected cell of a forecast (rank 1 = highest score). */
export interface ForecastCellProps {
  cell: number;
  rank: number;
  /** SEPP: expected incidents in the cell in the window; other models: their own score. */
  score: number;
  district: string | null;
}

/** Hit rate, PAI and PEI* at one coverage; null when there were no test incidents. */
export interface ForecastMetrics {
  hit_rate: number | null;
  pai: number | null;
  pei_star: number | null;
}

export interface ForecastBacktestScore {
  origins: number;
  first_origin: string | null;
  last_origin: string | null;
  coverage: number;
  model: ForecastMetrics | null;
  naive: ForecastMetrics | null;
}

export interface SeppFitSummary {
  theta: number;
  mean_delay_hours: number;
  sigma_metres: number;
  background_per_day: number;
  events: number;
  iterations: number;
  /** False when the fit stopped at its iteration limit. */
  converged?: boolean;
}

export interface ForecastDistrictShare {
  /** null: cells not assigned to a district. */
  district: string | null;
  forecast_area_share: number;
  incident_share: number;
  forecast_cells: number;
  incidents: number;
}

export interface ForecastMeta {
  model: ForecastModel;
  horizon: ForecastHorizon;
  horizon_hours: number;
  /** Local time of the territory, "YYYY-MM-DD HH:MM". */
  origin: string;
  window_end: string;
  cell_metres: number;
  coverage: number;
  area_cells: number;
  selected_cells: number;
  expected_events: number | null;
  fit: SeppFitSummary | null;
  backtest: ForecastBacktestScore | null;
  districts: ForecastDistrictShare[];
  incidents_from: string | null;
  incidents_to: string | null;
  /** The category asked for (may be absent: the query says it). */
  category?: string | null;
  left_out: number;
}

/** `GET /territories/{name}/forecast`: the selected cells (GeoJSON) and what the model says. */
export interface Forecast {
  type: 'FeatureCollection';
  features: GeoJSON.Feature<GeoJSON.Polygon | GeoJSON.MultiPolygon, ForecastCellProps>[];
  qalqan: ForecastMeta;
}

export interface BacktestCoverage {
  coverage: number;
  mean_hit_rate: number | null;
  pooled_hit_rate: number | null;
  mean_pai: number | null;
  mean_pei_star: number | null;
}

export interface BacktestModelSummary {
  model: string;
  origins: number;
  origins_with_events: number;
  test_events: number;
  seconds: number;
  coverages: BacktestCoverage[];
}

/** One origin of one model; the arrays follow the coverages of the summaries. */
export interface BacktestRow {
  origin: string;
  model: string;
  test_events: number;
  hit_rate: (number | null)[];
  pai: (number | null)[];
  pei_star: (number | null)[];
}

/** `GET /territories/{name}/forecast/backtest`. */
export interface BacktestResult {
  models: BacktestModelSummary[];
  rows: BacktestRow[];
  area_cells: number;
  test_events_outside_area: number;
  params: { from: string; to: string; step: string; horizon: string; cell: number; models: string[] };
}

// ---- Cameras ----

export type CameraOwner = 'street' | 'residential' | 'shop' | 'vehicle' | 'stop' | 'other';
export type CameraLink = 'connected' | 'standalone';
export type CameraStatus = 'working' | 'faulty' | 'planned' | 'dismantled';

/** A camera of the register (`GET /territories/{name}/cameras`: the feature's geometry is its view sector). */
export interface CameraProps {
  id: string;
  lat: number;
  lon: number;
  /** Degrees clockwise from north. */
  bearing: number;
  /** Horizontal field of view, degrees (360: all round). */
  fov: number;
  /** Metres. */
  range: number;
  owner: CameraOwner;
  link: CameraLink;
  archive_days: number;
  status: CameraStatus;
}

export type CameraCollection = GeoJSON.FeatureCollection<GeoJSON.Polygon | null, CameraProps>;

/** `GET /territories/{name}/cameras/coverage`: what the working cameras see. Shares are null when there is nothing to divide. */
export interface CameraCoverage {
  cameras: { registered: number; working: number };
  incidents: { total: number; covered: number; share: number | null };
  /** Sorted by incidents; null: incidents outside every district. */
  districts: ({ district: string | null; incidents: number; covered: number; share: number | null } & CoverageDistrictExtra)[];
  /** Working cameras per owner type; an incident seen by several cameras counts for each. */
  owners: { owner: string; cameras: number; incidents_seen: number }[];
  /** Gi* hot-spot cells whose centre a working camera sees; null when they could not be computed. */
  hotspot_cells: { cells: number; covered: number; share: number | null; cell_metres: number } | null;
  /** Working cameras, most incidents seen first. */
  per_camera: { id: string; owner: string; incidents_seen: number }[];
  /** Street kilometres in view (absent on older servers, null without a street network). */
  streets?: StreetCoverage | null;
  /** Street segments with incidents and little camera view (null without streets). */
  gaps?: GapCollection | null;
}

/** `POST /territories/{name}/cameras` → 200. */
export interface CameraUploadResult {
  cameras: number;
  added: number;
  updated: number;
}

/** `POST /territories/{name}/cameras` → 422 (nothing written). */
export interface CameraUploadRejected {
  error: string;
  rejects: { line: number; field: string; reason: string }[];
}

export const enc = encodeURIComponent;

// ---- Planning: streets, posts, plans, beats, scenarios ----

/** `GET /territories/{name}/streets`: the street network as lines (no features without one). */
export type StreetCollection = GeoJSON.FeatureCollection<GeoJSON.LineString, { class: string; name: string | null }> & { segments?: number };

export type PostKind = 'stationary' | 'mobile';

export interface PostProps {
  id: string;
  name: string | null;
  kind: PostKind;
  hours: string;
  vehicle: boolean | string | null;
  officers: number | null;
  status: string;
}

/** `GET /territories/{name}/posts`. */
export type PostCollection = GeoJSON.FeatureCollection<GeoJSON.Point, PostProps>;

/** `POST /territories/{name}/posts` → 200. */
export interface PostUploadResult {
  posts: number;
  added: number;
  updated: number;
}

/** Street coverage by the working cameras (null without a street network). */
export interface StreetCoverage {
  km: number;
  km_covered: number;
  share: number | null;
  gap_segments: number;
}

export type GapCollection = GeoJSON.FeatureCollection<GeoJSON.LineString, { incidents: number; length_m: number; covered_share: number; street: string | null }>;

/** The extra figures of a district row (newer servers). */
export interface CoverageDistrictExtra {
  hot_cells?: number;
  hot_cells_covered?: number;
  hot_cells_share?: number | null;
  street_km?: number;
  street_km_covered?: number;
  street_share?: number | null;
}

export interface PlanSite {
  lat: number;
  lon: number;
  incidents?: number;
  incidents_within?: number;
  dosage?: Dosage;
}

export interface Dosage {
  visit_minutes: string;
  rounds_per_shift: number;
  order: string;
  spots: { lat: number; lon: number; incidents: number; minutes_away: number }[];
}

/** One budget of a camera plan. */
export interface CameraPlanEntry {
  budget: number;
  new_incidents_covered: number;
  new_share: number | null;
  total_share: number | null;
  bound: number | null;
  gap: number | null;
  status: string;
  seconds: number;
  sites: PlanSite[];
}

/** `GET /territories/{name}/plans/cameras`. */
export interface CameraPlan {
  incidents: number;
  demand_places: number;
  existing: { working_cameras: number; incidents_covered: number; share: number | null };
  candidates: { source: string; count: number };
  range_m: number;
  method: string;
  plans: CameraPlanEntry[];
}

/** One budget of a post plan (one shift). */
export interface PostPlanEntry {
  budget: number;
  objective: number;
  incidents_within: number;
  share_within: number | null;
  gain_share: number | null;
  mean_minutes?: number | null;
  bound: number | null;
  gap: number | null;
  status: string;
  seconds: number;
  sites: PlanSite[];
}

export interface PostPlanShift {
  shift: string;
  window: string;
  incidents: number;
  demand_places: number;
  without_hour: number;
  unreachable: number;
  existing: { on_duty: number; incidents_within: number; share: number | null };
  plans: PostPlanEntry[];
}

/** `GET /territories/{name}/plans/posts`. */
export interface PostPlan {
  kind: PostKind;
  objective: 'coverage' | 'median';
  minutes: number;
  mode: 'walk' | 'drive';
  network: string;
  candidates: { source: string; count: number };
  registered: number;
  method: string;
  shifts: PostPlanShift[];
}

export interface BeatSummary {
  beats: number;
  mean_workload: number;
  max_to_mean: number;
  coefficient_of_variation: number;
}

/** `GET /territories/{name}/beats`: the beats with their workload. */
export type BeatCollection = GeoJSON.FeatureCollection<
  GeoJSON.Polygon | GeoJSON.MultiPolygon,
  { name: string; inspector?: string | null; incidents?: number; street_km?: number; facilities?: number; posts?: number; workload: number }
> & { summary?: BeatSummary };

/** `GET /territories/{name}/plans/beats`: redistricting into n balanced beats. */
export interface BeatPlan {
  cell_m: number;
  units: number;
  before: BeatSummary | null;
  after: BeatSummary;
  beats: GeoJSON.FeatureCollection<GeoJSON.Polygon | GeoJSON.MultiPolygon, { beat: number | string; workload: number; incidents: number; compactness: number; contiguous: boolean }>;
  seconds: number;
}

export type ScenarioKind = 'cameras' | 'posts';

export interface Scenario {
  id: number;
  kind: ScenarioKind;
  name: string;
  params: Record<string, string | number>;
  result: CameraPlan | PostPlan;
  created_by: string;
  created_at: string;
}

// ---- Coordination: bodies, meetings, assignments, notifications ----

export type AssignmentStatus = 'draft' | 'on_execution' | 'report_submitted' | 'returned' | 'accepted' | 'cancelled';
export type AssignmentPriority = 'normal' | 'high' | 'urgent';
export type BodyKind = 'coordination_council' | 'antiterrorist_commission' | 'operational_headquarters' | 'other';

/** `GET /bodies` → `{ bodies }`. */
export interface CoordBody {
  id: number;
  name: string;
  kind: BodyKind;
  members: { agency: string; person: string }[];
}

/** An item of a meeting's protocol ("1", "2.1") and what was decided. */
export interface ProtocolItem {
  number: string;
  text: string;
}

/** `GET /bodies/{id}/meetings` → `{ meetings }`. */
export interface Meeting {
  id: number;
  body_id: number;
  held_on: string;
  number: string;
  agenda: string;
  /** The protocol's items (absent on servers without them). */
  items?: ProtocolItem[];
}

/** An assignment as listed (`GET /assignments` → `{ today, assignments }`). */
export interface Assignment {
  id: number;
  body_id: number;
  meeting_id: number | null;
  parent_id: number | null;
  item: string;
  text: string;
  author: string;
  executor: string;
  executor_person: string | null;
  co_executors: string[];
  /** The controller's login. */
  controller: string;
  /** `YYYY-MM-DD` or `PERIOD:DAY` (monthly, quarterly, half_yearly, yearly). */
  deadline: string;
  due_on: string;
  priority: AssignmentPriority;
  place: string | null;
  status: AssignmentStatus;
  overdue: boolean;
  /** Null once closed (accepted, cancelled) or while a draft. */
  days_left: number | null;
  /** Bumped by every change; sent back as If-Match. */
  version: number;
}

export interface AssignmentEvent {
  /** Unix seconds. */
  at: number;
  actor: string;
  /** create, issue, submit_report, accept, return, cancel, extension_request, extension_granted, extension_refused, next_period. */
  action: string;
  from: AssignmentStatus | null;
  to: AssignmentStatus;
  due_on: string;
  note: string;
}

export interface ExtensionRequest {
  id: number;
  requested_by: string;
  new_due_on: string;
  reason: string;
  /** Null while pending. */
  granted: boolean | null;
  decided_by: string | null;
  note: string | null;
}

export interface ReportAttachment {
  id: number;
  file_name: string;
  content_type: string;
  size: number;
  sha256: string;
}

export interface AssignmentReport {
  id: number;
  submitted_by: string;
  /** Unix seconds. */
  submitted_at: number;
  due_on: string;
  text: string;
  attachments: ReportAttachment[];
}

/** `GET /assignments/{id}`. */
export interface AssignmentDetail extends Assignment {
  events: AssignmentEvent[];
  extensions: ExtensionRequest[];
  reports: AssignmentReport[];
}

/** `GET /assignments/dashboard`. */
export interface CoordDashboard {
  today: string;
  on_control: number;
  due_within_7_days: number;
  overdue: number;
  by_agency: { agency: string; on_control: number; overdue: number }[];
  reports: { total: number; on_time: number; share_on_time: number | null };
  extensions: { decided: number; granted: number; share_granted: number | null };
  accepted: number;
}

export interface AppNotification {
  id: number;
  assignment_id: number;
  kind: 'reminder' | 'overdue' | string;
  due_on: string;
  /** The server's text (English); the UI builds its own from the fields. */
  message: string;
  /** Unix seconds. */
  created_at: number;
  read: boolean;
}

// ---- Protected facilities and threat levels ----

export type ThreatLevel = 'yellow' | 'orange' | 'red';

export interface FacilityProps {
  id: string;
  name: string;
  category: string;
  owner: string;
  passport: string | null;
  passport_valid_until: string | null;
  equipment: string[];
}

export type FacilityCollection = GeoJSON.FeatureCollection<GeoJSON.Point, FacilityProps>;

export interface Inspection {
  id: number;
  held_on: string;
  inspector: string;
  summary: string;
  findings: { text: string; assignment_id: number }[];
}

export interface Measure {
  /** A facility category or `police`. */
  category: string;
  level: ThreatLevel;
  code: string;
  text: string;
}

export interface Declaration {
  id: number;
  level: ThreatLevel;
  starts_on: string;
  ends_on: string | null;
  reason: string;
  declared_by: string;
  /** Unix seconds. */
  declared_at: number;
  lifted_by: string | null;
  lifted_at: number | null;
  in_force: boolean;
}

/** `GET …/threat-levels`. */
export interface ThreatLevels {
  today: string;
  in_force: ThreatLevel | null;
  declarations: Declaration[];
}

export interface ChecklistItem {
  id: number;
  /** The facility's register id; null for the police units. */
  facility: string | null;
  facility_name: string;
  measure: string;
  text: string;
  done_by: string | null;
  done_at: number | null;
  note: string | null;
}

export interface ReadinessRow {
  items: number;
  done: number;
  readiness: number;
}

/** `GET …/threat-levels/{id}/checklist`. */
export interface Checklist {
  declaration: Declaration;
  items: number;
  done: number;
  readiness: number;
  by_category: (ReadinessRow & { category: string })[];
  by_district: (ReadinessRow & { district: string })[];
  checklist: ChecklistItem[];
}

// ---- Risk terrain (issue #8) ----

/** One condition kept by the risk terrain model. */
export interface RiskFactor {
  /** An OpenStreetMap category (bar, transit_stop, …) or a register (camera, stationary, mobile, facility_<category>). */
  factor: string;
  operationalisation: 'proximity' | 'density';
  bandwidth_m: number;
  coefficient: number;
  /** e^coefficient: how many times likelier an incident is where the condition holds. */
  relative_risk: number;
  low: number;
  high: number;
  p_value: number;
  /** Cells where the condition holds. */
  cells: number;
}

export interface RiskCellProps {
  /** Product of the relative risk values of the conditions present (1: none). */
  risk: number;
  count: number;
}

/** `GET /territories/{name}/risk-terrain`. */
export interface RiskTerrain {
  territory: string;
  cell_m: number;
  cells: number;
  incidents: number;
  incidents_outside: number;
  factors_tested: { factor: string; features: number }[];
  factors_skipped: { factor: string; features: number }[];
  variables: number;
  family: 'negative_binomial' | 'poisson';
  theta: number | null;
  baseline: number;
  deviance: number;
  null_deviance: number;
  deviance_explained: number;
  bic: number;
  lambda: number;
  cv_deviance_per_cell: number;
  confidence: number;
  factors: RiskFactor[];
  map: GeoJSON.FeatureCollection<GeoJSON.Polygon, RiskCellProps>;
}

// ---- Interventions and their evaluation (issue #8) ----

export type InterventionKind = 'camera_cluster' | 'post' | 'mobile_point' | 'patrol_plan' | 'lighting' | 'other';

export interface Intervention {
  id: number;
  name: string;
  kind: string;
  starts_on: string;
  lat: number;
  lon: number;
  radius_m: number;
  assignment_id: number | null;
  note: string;
  created_by: string;
  /** Unix seconds. */
  created_at: number;
}

export interface AreaCounts {
  target: number;
  buffer: number;
  control: number;
}

export type VerdictCode = 'reduction' | 'increase' | 'no_evidence' | 'not_estimable';

/** A difference-in-differences estimate (the figures are missing when it was not estimable). */
export interface DidEstimate {
  rate_ratio?: number;
  low?: number;
  high?: number;
  p_value?: number;
  dispersion?: number;
  periods_before?: number;
  periods_after?: number;
  verdict: VerdictCode;
  /** English; the UI builds its own sentences. */
  sentence: string;
}

export type DisplacementCode = 'no_success' | 'diffusion_exceeds_direct' | 'diffusion' | 'none' | 'displacement_less_than_gain' | 'displacement_exceeds_gain' | 'not_estimable';

export interface WdqResult {
  success?: number;
  buffer?: number;
  wdq?: number | null;
  total_net_effect?: number;
  displacement: DisplacementCode;
  sentence: string;
}

/** `GET /territories/{name}/interventions/{id}/evaluation`. */
export interface Evaluation {
  intervention: { name: string; kind: string; starts_on: string; lat: number; lon: number; radius_m: number; assignment_id: number | null };
  areas: { target_radius_m: number; buffer_outer_m: number; control_outer_m: number };
  window: { before_from: string; after_to: string; after_days: number; wdq_before_from: string; period: 'week' | 'month' };
  counts: { before: AreaCounts; after: AreaCounts };
  wdq: WdqResult;
  target: DidEstimate;
  buffer: DidEstimate | null;
  confidence: number;
  series: { periods: string[]; first_after: number; target: number[]; buffer: number[]; control: number[] };
}

// ---- Public figures (no login): GET /public/territories, …/summary, …/cells ----

/** `GET /public/territories`: the territories an administrator has published. */
export interface PublicTerritory {
  name: string;
  time_zone: string;
  has_boundary: boolean;
}

/** A count of the public figures; null = withheld (under the threshold, or withheld as well). */
export type PublicCount = number | null;

/** `GET /public/territories/{name}/summary`. */
export interface PublicSummary {
  territory: string;
  from: string;
  to: string;
  threshold: number;
  total: PublicCount;
  by_month: { month: string; count: PublicCount }[];
  by_category: { category: string; count: PublicCount }[];
  by_district: { district: string; count: PublicCount }[];
  note: string;
}

/** `GET /public/territories/{name}/cells`: the published 250 m cells (polygons with a count). */
export type PublicCells = GeoJSON.FeatureCollection<GeoJSON.Polygon, { count: number }> & {
  qalqan: { territory: string; from: string; to: string; cell_m: number; threshold: number; withheld_cells: number; withheld_incidents: number | null };
};
