"""The names and places the demo generator draws from: Luoyang's nine counties with their townships (as of the
2016–2020 campaign), how townships are numbered and villages named, and the surnames and given names by
generation. Plain data and two small pure functions; the randomness comes from the caller's ``random.Random``.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass

CITY_NAME = "洛阳市"


@dataclass(frozen=True)
class CountySpec:
    code: str
    name: str
    is_poverty_county: bool
    weight: float  # share of the city's poor households
    mountainous: bool
    townships: tuple[str, ...]


def words(text: str) -> tuple[str, ...]:
    """Space-separated names (keeps the long name lists readable)."""
    return tuple(text.split())


# Township names as of the 2016–2020 campaign (镇 numbered from 100, 乡 from 200, 街道 from 001).
COUNTIES: tuple[CountySpec, ...] = (
    CountySpec(
        "410322", "孟津县", False, 3.0, False,
        words("城关镇 会盟镇 平乐镇 送庄镇 白鹤镇 朝阳镇 麻屯镇 小浪底镇 横水镇 常袋镇"),
    ),
    CountySpec(
        "410323", "新安县", False, 4.0, True,
        words("城关镇 石寺镇 五头镇 磁涧镇 铁门镇 石井镇 北冶镇 仓头镇 正村镇 南李村镇 曹村乡"),
    ),
    CountySpec(
        "410324", "栾川县", True, 14.0, True,
        words("城关镇 潭头镇 赤土店镇 合峪镇 庙子镇 三川镇 冷水镇 陶湾镇 石庙镇 狮子庙镇 白土镇 叫河镇 "
              "秋扒乡 栾川乡"),
    ),
    CountySpec(
        "410325", "嵩县", True, 20.0, True,
        words("城关镇 田湖镇 车村镇 旧县镇 闫庄镇 德亭镇 大章镇 白河镇 纸房镇 饭坡镇 九皋镇 "
              "大坪乡 库区乡 何村乡 黄庄乡 木植街乡"),
    ),
    CountySpec(
        "410326", "汝阳县", True, 13.0, True,
        words("城关镇 上店镇 付店镇 小店镇 三屯镇 刘店镇 内埠镇 陶营镇 柏树乡 十八盘乡 靳村乡 王坪乡 蔡店乡"),
    ),
    CountySpec(
        "410327", "宜阳县", True, 15.0, True,
        words("城关镇 丰李镇 柳泉镇 韩城镇 白杨镇 香鹿山镇 锦屏镇 三乡镇 张坞镇 莲庄镇 赵保镇 樊村镇 "
              "高村镇 盐镇乡 花果山乡 上观乡 董王庄乡"),
    ),
    CountySpec(
        "410328", "洛宁县", True, 14.0, True,
        words("城关镇 王范回族镇 上戈镇 下峪镇 河底镇 兴华镇 东宋镇 马店镇 长水镇 赵村镇 西山底镇 "
              "故县镇 小界乡 罗岭乡 陈吴乡 底张乡 涧口乡"),
    ),
    CountySpec(
        "410329", "伊川县", True, 12.0, False,
        words("城关街道 鸣皋镇 水寨镇 彭婆镇 白沙镇 江左镇 高山镇 吕店镇 葛寨镇 白元镇 半坡镇 鸦岭镇 "
              "平等乡 酒后乡"),
    ),
    CountySpec(
        "410381", "偃师市", False, 5.0, False,
        words("首阳山街道 城关镇 岳滩镇 顾县镇 翟镇镇 佃庄镇 李村镇 庞村镇 寇店镇 府店镇 缑氏镇 邙岭镇"),
    ),
)  # fmt: skip


def township_code(county_code: str, name: str, index_by_kind: Counter) -> str:
    kind = "街道" if name.endswith("街道") else "乡" if name.endswith("乡") else "镇"
    start = {"街道": 1, "镇": 100, "乡": 200}[kind]
    number = start + index_by_kind[kind]
    index_by_kind[kind] += 1
    return f"{county_code}{number:03d}"


VILLAGE_PATTERN_SURNAME = "王李张刘陈杨赵黄周吴郭马孙胡朱高何宋郑梁谢韩唐冯董程曹袁许邓"
VILLAGE_SUFFIX_PLACE = "庄营沟寨湾屯店岭坡河洼坪岗楼"
VILLAGE_PREFIX_NATURE = "东西南北上下大小前后石柳杨槐桃红青白黄龙凤马牛金银三五九"
VILLAGE_SUFFIX_NATURE = ("坪", "门", "沟", "河", "岭", "庄", "崖", "坡", "岔", "峪", "湾", "川", "庄子", "窑", "园")
VILLAGE_AUSPICIOUS = words(
    "协心 和平 幸福 团结 新华 红旗 光明 胜利 永丰 丰收 东风 前进 兴隆 太平 长青 新建 双堂 君山 庄科 富民"
)


def village_name(rng: random.Random, taken: set[str]) -> str:
    for _ in range(50):
        roll = rng.random()
        if roll < 0.4:
            stem = rng.choice(VILLAGE_PATTERN_SURNAME) + rng.choice(VILLAGE_SUFFIX_PLACE)
        elif roll < 0.85:
            stem = rng.choice(VILLAGE_PREFIX_NATURE) + rng.choice(VILLAGE_SUFFIX_NATURE)
        else:
            stem = rng.choice(VILLAGE_AUSPICIOUS)
        name = stem + "村"
        if name not in taken:
            taken.add(name)
            return name
    name = f"{stem}{len(taken) + 1}村"
    taken.add(name)
    return name


# --- People -----------------------------------------------------------------------------------------------

# Common surnames with rough national/Henan weights (per mille of the population).
SURNAMES: tuple[tuple[str, int], ...] = tuple(
    (name, int(weight))
    for name, weight in (
        pair.split(":")
        for pair in words(
            "王:80 李:78 张:72 刘:55 陈:36 杨:32 赵:25 黄:18 周:17 吴:15 郭:17 马:14 孙:14 胡:11 朱:11 "
            "高:11 何:9 徐:12 宋:9 郑:9 梁:8 谢:6 韩:7 唐:6 冯:6 董:6 程:5 曹:5 袁:5 许:6 邓:5 付:5 "
            "杜:4 苏:4 魏:4 吕:4 丁:4 任:4 姚:3 卢:3 姜:3 崔:3 范:3 牛:3 常:3 贾:3 孟:3 侯:3 段:2 "
            "雷:2 史:2 焦:2 薛:2 乔:2 闫:2 上官:1 欧阳:1"
        )
    )
)

# Given names by generation (birth year up to the key) and gender: (until, male, female).
GIVEN_NAMES: tuple[tuple[int, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        1959,
        words("建国 国庆 解放 建华 建军 富贵 长生 金山 振华 德胜 保国 文明 永福 满仓 根生 铁柱 "
              "有才 福来 新民 占魁 春生 秋成 双喜 天才"),
        words("秀英 桂兰 玉兰 秀兰 桂英 凤英 玉珍 淑珍 秀珍 玉梅 翠花 春花 素芳 兰英 金花 桂芝 "
              "秀云 凤兰 月娥 爱莲 巧云 改花 粉英"),
    ),
    (
        1979,
        words("卫东 建军 志强 国强 建平 红军 伟 军 勇 建设 海军 振东 建伟 国栋 卫国 新华 小军 立新 "
              "永强 长江 红伟 保平 战胜 松涛"),
        words("红霞 丽 艳 红梅 丽娟 秀梅 海燕 红英 玉霞 霞 丽萍 淑芬 小红 春梅 彩霞 爱玲 桂香 晓燕 "
              "艳丽 俊霞 素娟 燕"),
    ),
    (
        1999,
        words("磊 鹏 超 浩 强 涛 亮 刚 伟 明 杰 晓东 海峰 建辉 俊杰 文博 志鹏 晓明 鹏飞 振宇 帅 阳 "
              "龙飞 少华"),
        words("静 丽 娟 敏 婷 倩 芳 燕 颖 晓丽 欢欢 丹丹 佳佳 雪 慧 晶晶 媛媛 莉 娜 亚楠 梦娟 瑞雪"),
    ),
    (
        9999,
        words("浩然 宇轩 子豪 梓豪 俊熙 一鸣 子轩 浩宇 博文 梓睿 皓轩 宇航 嘉豪 家乐 天佑 明轩 思远 "
              "泽宇 铭泽 晨阳"),
        words("梓涵 欣怡 诗涵 雨桐 可馨 子涵 佳怡 思琪 梦瑶 一诺 雨欣 紫涵 语嫣 欣妍 梓萱 若曦 佳琪 "
              "雅琪 晨曦 心怡"),
    ),
)  # fmt: skip
