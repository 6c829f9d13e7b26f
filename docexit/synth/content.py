"""Text content: names, dates and amounts from Faker, sentences from small domain grammars.

Domains overlap on purpose (letters and memos share the 'business' grammar; reports,
publications and specifications share 'science'), so body text alone rarely names the class:
the cues are the headers, salutations, field labels and layout that templates add.
"""
from __future__ import annotations

import re

from .page import Ctx

_ASCII = re.compile(r"[^\x20-\x7e]")


def clean(s: str) -> str:
    return _ASCII.sub("", s).strip()


# ---------------------------------------------------------------------- vocab
PRODUCTS = ["filter", "blend", "package", "carton", "label", "coating", "adhesive", "sample", "brand",
            "product line", "formulation", "display unit", "tray", "sleeve", "flavor system", "paper stock"]
DEPTS = ["Marketing", "Research and Development", "Quality Assurance", "Legal", "Finance", "Purchasing",
         "Public Affairs", "Sales", "Operations", "Regulatory Affairs", "Product Development", "Engineering",
         "Human Resources", "Corporate Communications", "Manufacturing", "Scientific Affairs"]
TOPICS = ["the proposed budget", "the field test", "the new packaging", "the consumer panel", "the regional program",
          "the pricing study", "the quarterly review", "the supplier agreement", "the pilot plant", "the trade show",
          "the sales meeting", "the product launch", "the analytical results", "the distribution plan",
          "the contract renewal", "the advertising schedule", "the committee meeting", "the draft report"]
VERBS_BIZ = ["review", "discuss", "approve", "finalize", "schedule", "evaluate", "forward", "summarize", "revise",
             "coordinate", "confirm", "consider"]
SCI_MEASURES = ["concentration", "yield", "particle size", "moisture content", "pH", "viscosity", "tensile strength",
                "retention", "absorbance", "density", "burn rate", "pressure drop", "recovery", "mean value"]
SCI_MATERIALS = ["cellulose acetate", "the tobacco blend", "nicotine", "tar", "the extract", "activated carbon",
                 "the test filters", "reference cigarettes", "plasma samples", "the polymer film", "sodium bicarbonate",
                 "the condensate", "the aerosol", "glycerol", "menthol", "the control group"]
SCI_METHODS = ["gas chromatography", "HPLC", "mass spectrometry", "infrared spectroscopy", "a smoking machine",
               "gravimetric analysis", "titration", "the standard method", "UV spectrophotometry",
               "a randomized design", "regression analysis", "thin layer chromatography"]
NEWS_SUBJ = ["City officials", "The committee", "State lawmakers", "Local residents", "The company", "Researchers",
             "Federal regulators", "The board", "Health officials", "Industry analysts", "The mayor", "Union leaders"]
NEWS_VERB = ["announced", "said", "voted", "rejected", "approved", "warned", "reported", "agreed", "proposed",
             "criticized"]
NEWS_OBJ = ["a new tax on cigarettes", "plans for the downtown project", "the ban on smoking in restaurants",
            "a settlement with the manufacturers", "the budget for next year", "a study of indoor air",
            "changes to the advertising rules", "the proposed merger", "new warning labels", "the school program"]
AD_HEAD = ["Taste the Difference", "Experience Real Flavor", "Now Even Smoother", "The Choice Is Yours",
           "Introducing the New", "Refreshingly Different", "Save Now", "Get More Out of Life", "Naturally Better",
           "Limited Time Offer", "Discover Something New", "Quality You Can Trust", "Come to Where the Flavor Is",
           "Alive With Pleasure", "A Fresh New Look", "Special Introductory Price"]
AD_BODY = ["Rich, smooth taste in every pack.", "Available at fine stores everywhere.", "Try it today.",
           "Only the finest ingredients.", "Great taste, low price.", "Offer good while supplies last.",
           "Ask for it by name.", "Now in a convenient new size.", "Satisfaction guaranteed.",
           "Your favorite, only better.", "Free gift with purchase.", "Look for the new package."]
BUDGET_ITEMS = ["Salaries", "Fringe Benefits", "Travel", "Supplies", "Equipment", "Consultants", "Printing",
                "Postage", "Telephone", "Rent", "Utilities", "Advertising", "Media", "Promotion", "Training",
                "Contract Services", "Publications", "Maintenance", "Computer Services", "Meetings", "Insurance",
                "Sampling", "Market Research", "Freight", "Overhead", "Contingency", "Depreciation", "Legal Fees"]
INVOICE_ITEMS = ["Consulting services", "Printing of brochures", "Display units", "Laboratory analysis",
                 "Freight charges", "Promotional items", "Catalog design", "Carton stock", "Filter material",
                 "Photography", "Typesetting", "Sample kits", "Shipping cartons", "Trade show booth",
                 "Professional fees", "Data processing", "Media placement", "Technical support", "Labels, printed",
                 "Paper, 20 lb bond", "Film processing", "Equipment rental", "Travel expenses", "Survey fieldwork"]
SPEC_PARAMS = ["Length", "Circumference", "Weight", "Pressure Drop", "Moisture", "Tipping Paper Width",
               "Filter Length", "Porosity", "Firmness", "Nicotine", "Tar", "Carbon Monoxide", "Ventilation",
               "Basis Weight", "Tensile Strength", "Opacity", "Ash Content", "Color", "Thickness", "Density",
               "Burn Rate", "Plasticizer", "Denier", "Glue Application", "Print Registration"]
UNITS = ["mm", "mg", "g", "%", "mm H2O", "CU", "g/m2", "kN/m", "um", "mg/cig", "mm/min", "s"]
SURVEY_Q = ["How often do you purchase {p}?", "How would you rate the taste of {p}?",
            "Which brand did you smoke most often in the past month?", "How satisfied are you with {p}?",
            "Would you recommend {p} to a friend?", "How likely are you to buy {p} again?",
            "Where do you usually buy {p}?", "What is your age group?", "How many packs do you buy per week?",
            "Did you notice the new package design?", "How important is price when you choose {p}?",
            "Compared to your usual brand, is {p} better or worse?", "Have you seen any advertising for {p}?",
            "What is the highest level of education you have completed?", "Do you agree that {p} is good value?"]
LIKERT = [["Strongly agree", "Agree", "Neutral", "Disagree", "Strongly disagree"],
          ["Excellent", "Very good", "Good", "Fair", "Poor"],
          ["Very likely", "Somewhat likely", "Not sure", "Unlikely"],
          ["Always", "Often", "Sometimes", "Rarely", "Never"],
          ["Yes", "No", "Don't know"]]
JOB_VERBS = ["Managed", "Directed", "Developed", "Supervised", "Conducted", "Designed", "Coordinated", "Led",
             "Analyzed", "Established", "Prepared", "Implemented"]
DEGREES = ["B.S.", "B.A.", "M.S.", "M.A.", "Ph.D.", "M.B.A.", "J.D.", "M.D."]
FIELDS = ["Chemistry", "Biology", "Marketing", "Economics", "Chemical Engineering", "Pharmacology", "Statistics",
          "Business Administration", "Toxicology", "Psychology", "Physics", "Accounting", "Biochemistry"]
JOURNALS = ["Journal of Analytical Chemistry", "Food and Chemical Toxicology", "Journal of Applied Physiology",
            "Beitrage zur Tabakforschung", "Journal of Chromatography", "Archives of Environmental Health",
            "Journal of Agricultural and Food Chemistry", "Mutation Research", "Toxicology Letters",
            "American Journal of Epidemiology", "Analytical Biochemistry", "Journal of Pharmacy and Pharmacology"]
SECTIONS_SCI = ["INTRODUCTION", "METHODS", "MATERIALS AND METHODS", "RESULTS", "DISCUSSION", "CONCLUSIONS",
                "SUMMARY", "EXPERIMENTAL", "BACKGROUND", "RECOMMENDATIONS", "PROCEDURE", "OBJECTIVE"]


class Text:
    """Sentence factory bound to one document's randomness."""

    def __init__(self, ctx: Ctx):
        self.c = ctx
        self.f = ctx.fake

    # ----- people, places, dates
    def name(self) -> str:
        return clean(self.f.name())

    def short_name(self) -> str:
        n = self.f
        return clean(f"{n.first_name()[0]}. {n.last_name()}")

    def last(self) -> str:
        return clean(self.f.last_name())

    def company(self) -> str:
        return clean(self.f.company())

    def job(self) -> str:
        j = clean(self.f.job())
        return j.split(",")[0].title()

    def address_lines(self) -> list[str]:
        a = clean(self.f.street_address())
        city = clean(f"{self.f.city()}, {self.f.state_abbr()} {self.f.zipcode()}")
        return [a, city]

    def phone(self) -> str:
        return f"({self.c.randint(201, 989)}) {self.c.randint(200, 999)}-{self.c.randint(0, 9999):04d}"

    def email(self, name: str | None = None) -> str:
        if name:
            parts = re.sub(r"[^a-z ]", "", name.lower()).split()
            if len(parts) >= 2:
                user = self.c.choice([f"{parts[0]}.{parts[-1]}", f"{parts[0][0]}{parts[-1]}", f"{parts[-1]}{parts[0][0]}"])
                return f"{user}@{clean(self.f.domain_name())}"
        return clean(self.f.email())

    def date(self, style: int | None = None) -> str:
        d = self.f.date_between_dates(date_start=_d(1975, 1, 1), date_end=_d(2003, 12, 31))
        style = self.c.randint(0, 4) if style is None else style
        if style == 0:
            return d.strftime("%B %d, %Y").replace(" 0", " ")
        if style == 1:
            return f"{d.month}/{d.day}/{d.strftime('%y')}"
        if style == 2:
            return d.strftime("%d %B %Y").lstrip("0")
        if style == 3:
            return d.strftime("%b. %d, %Y").replace(" 0", " ")
        return f"{d.month:02d}/{d.day:02d}/{d.year}"

    def year(self) -> int:
        return self.c.randint(1978, 2002)

    def money(self, lo: float = 10, hi: float = 50000, cents: bool = True, dollar: bool = False) -> str:
        v = self.c.rng.uniform(lo, hi)
        s = f"{v:,.2f}" if cents else f"{v:,.0f}"
        return ("$" if dollar else "") + s

    def number(self, lo: int = 1, hi: int = 999) -> str:
        return str(self.c.randint(lo, hi))

    def code(self, prefix: str = "") -> str:
        c = self.c
        return f"{prefix}{c.randint(100, 9999)}-{c.randint(10, 99)}" if c.chance(0.5) else f"{prefix}{c.randint(10000, 999999)}"

    # ----- sentences
    def filler(self) -> str:
        return clean(self.f.sentence(nb_words=self.c.randint(6, 16)))

    def biz_sentence(self) -> str:
        c = self.c
        forms = [
            lambda: f"As you requested, I am enclosing a copy of {c.choice(TOPICS)} for your {c.choice(['review', 'information', 'files', 'comments'])}.",
            lambda: f"We would like to {c.choice(VERBS_BIZ)} {c.choice(TOPICS)} with {c.choice(DEPTS)} before {self.date(0)}.",
            lambda: f"The {c.choice(PRODUCTS)} samples were shipped to {self.company()} on {self.date(3)}.",
            lambda: f"Please let me know if you have any questions regarding {c.choice(TOPICS)}.",
            lambda: f"{self.short_name()} has agreed to {c.choice(VERBS_BIZ)} the {c.choice(PRODUCTS)} results with the {c.choice(DEPTS)} group.",
            lambda: f"The total cost of the program is estimated at {self.money(1000, 900000, cents=False, dollar=True)}.",
            lambda: f"Thank you for your letter of {self.date(0)} concerning {c.choice(TOPICS)}.",
            lambda: f"It is important that we {c.choice(VERBS_BIZ)} {c.choice(TOPICS)} as soon as possible.",
            lambda: f"A meeting has been scheduled for {self.date(0)} at {c.randint(8, 11)}:{c.choice(['00', '30'])} a.m. in the {c.choice(DEPTS)} conference room.",
            lambda: f"Our {c.choice(DEPTS)} staff will {c.choice(VERBS_BIZ)} the {c.choice(PRODUCTS)} proposal and report back.",
            lambda: f"Attached is a summary of {c.choice(TOPICS)} prepared by {self.short_name()}.",
            lambda: f"Sales of the new {c.choice(PRODUCTS)} increased {c.randint(2, 40)} percent over last year.",
            lambda: f"I would appreciate your comments on {c.choice(TOPICS)} by the end of the month.",
            self.filler,
        ]
        return forms[c.r.randrange(len(forms))]()

    def sci_sentence(self) -> str:
        c = self.c
        forms = [
            lambda: f"The {c.choice(SCI_MEASURES)} of {c.choice(SCI_MATERIALS)} was determined by {c.choice(SCI_METHODS)}.",
            lambda: f"Samples were conditioned at {c.randint(18, 25)} C and {c.randint(50, 65)}% relative humidity for {c.randint(24, 72)} hours.",
            lambda: f"A {c.choice(['significant', 'small', 'marked', 'slight'])} increase in {c.choice(SCI_MEASURES)} was observed (p < 0.{c.randint(1, 5):02d}).",
            lambda: f"Results are summarized in Table {c.randint(1, 6)} and Figure {c.randint(1, 8)}.",
            lambda: f"The mean {c.choice(SCI_MEASURES)} was {c.rng.uniform(0.1, 99):.2f} +/- {c.rng.uniform(0.01, 5):.2f} (n = {c.randint(3, 60)}).",
            lambda: f"{c.choice(SCI_MATERIALS).capitalize()} was analyzed using {c.choice(SCI_METHODS)} as described previously.",
            lambda: f"These data suggest that {c.choice(SCI_MATERIALS)} affects the {c.choice(SCI_MEASURES)} of {c.choice(SCI_MATERIALS)}.",
            lambda: f"No differences in {c.choice(SCI_MEASURES)} were found between the test and control groups.",
            lambda: f"The method has a detection limit of {c.rng.uniform(0.01, 5):.2f} {c.choice(UNITS)} and a recovery of {c.randint(85, 104)}%.",
            lambda: f"Further work is needed to establish the effect of {c.choice(SCI_MATERIALS)} on {c.choice(SCI_MEASURES)}.",
            lambda: f"Each value represents the average of {c.randint(2, 12)} determinations.",
            self.filler,
        ]
        return forms[c.r.randrange(len(forms))]()

    def news_sentence(self) -> str:
        c = self.c
        forms = [
            lambda: f"{c.choice(NEWS_SUBJ)} {c.choice(NEWS_VERB)} {c.choice(NEWS_OBJ)} on {c.choice(['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday'])}.",
            lambda: f"\"{self.filler()}\" said {self.name()}, a spokesman for {self.company()}.",
            lambda: f"The vote was {c.randint(5, 60)} to {c.randint(0, 30)}.",
            lambda: f"{self.name()}, {c.randint(25, 70)}, of {clean(self.f.city())}, {c.choice(NEWS_VERB)} the decision.",
            lambda: f"Officials said the measure would cost about {self.money(1, 900, cents=False, dollar=True)} million.",
            lambda: f"According to a report released last week, {c.randint(10, 60)} percent of adults {c.choice(['smoke', 'support the plan', 'oppose the tax'])}.",
            self.filler,
        ]
        return forms[c.r.randrange(len(forms))]()

    def paragraph(self, kind: str = "biz", n: tuple[int, int] = (2, 5)) -> str:
        fn = {"biz": self.biz_sentence, "sci": self.sci_sentence, "news": self.news_sentence,
              "filler": self.filler}[kind]
        return " ".join(fn() for _ in range(self.c.randint(*n)))

    def title(self, kind: str = "sci") -> str:
        c = self.c
        if kind == "sci":
            forms = [f"Determination of {c.choice(SCI_MEASURES).title()} in {c.choice(SCI_MATERIALS).title()}",
                     f"Effect of {c.choice(SCI_MATERIALS).title()} on {c.choice(SCI_MEASURES).title()}",
                     f"A {c.choice(['Rapid', 'Simple', 'Sensitive', 'New'])} Method for the Analysis of {c.choice(SCI_MATERIALS).title()}",
                     f"{c.choice(SCI_MEASURES).title()} of {c.choice(SCI_MATERIALS).title()} Under {c.choice(['Standard', 'Modified', 'Accelerated'])} Conditions",
                     f"Studies on {c.choice(SCI_MATERIALS).title()}: {c.choice(['Part', 'Report'])} {c.choice(['I', 'II', 'III', 'IV'])}"]
        else:
            forms = [f"{c.choice(NEWS_SUBJ)} {c.choice(NEWS_VERB).title()} {c.choice(NEWS_OBJ).title()}"]
        return c.choice(forms).replace(" The ", " the ").replace(" Of ", " of ").replace(" On ", " on ")


def _d(y, m, d):
    import datetime
    return datetime.date(y, m, d)
